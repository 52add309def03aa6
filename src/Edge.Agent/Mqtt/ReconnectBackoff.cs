namespace Edge.Agent.Mqtt;

/// <summary>
/// Delays between connection attempts: exponential from the minimum, capped at the maximum, with
/// "equal jitter" (half fixed, half random) so that a plant full of devices does not reconnect in
/// lock-step when the broker comes back.
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int attempt, TimeSpan minimum, TimeSpan maximum, Random random)
    {
        double exponential = minimum.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        double ceiling = Math.Min(exponential, maximum.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling / 2 + random.NextDouble() * ceiling / 2);
    }
}
