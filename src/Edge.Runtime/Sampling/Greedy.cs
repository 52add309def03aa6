namespace Edge.Runtime.Sampling;

/// <summary>Greedy token choice.</summary>
public static class Greedy
{
    /// <summary>Index of the largest value; the lowest index wins a tie, as torch.argmax does.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
                best = i;
        }
        return best;
    }
}
