namespace Edge.Agent.Serving;

/// <summary>
/// Whether the model in service can serve, and if not why: its scheduler stopped on a fault it
/// could not recover from, or its inference loop has work but has made no progress for a whole
/// stall period. /readyz, the MQTT status, the error LED and the systemd watchdog all read this.
/// </summary>
internal sealed record EngineStatus(bool Healthy, string? Reason)
{
    public static readonly EngineStatus Ok = new(true, null);

    /// <summary>How long a busy inference loop may go without a step before it counts as stalled (the watchdog uses systemd's own period).</summary>
    public static readonly TimeSpan StallPeriod = TimeSpan.FromSeconds(30);

    /// <summary>The model's status with the default stall period.</summary>
    public static EngineStatus Of(ServingModel model, DateTimeOffset now) => Of(model, StallPeriod, now);

    public static EngineStatus Of(ServingModel model, TimeSpan stall, DateTimeOffset now)
    {
        var scheduler = model.Scheduler;
        if (scheduler is null)
            return Ok;
        if (scheduler.Fault is { } fault)
            return new EngineStatus(false, $"the engine has stopped: {fault}");
        bool busy = scheduler.ActiveSequences > 0 || scheduler.QueueDepth > 0;
        if (busy && now - scheduler.LastProgress >= stall)
            return new EngineStatus(false, $"the inference loop has made no progress since {scheduler.LastProgress:o}");
        return Ok;
    }
}
