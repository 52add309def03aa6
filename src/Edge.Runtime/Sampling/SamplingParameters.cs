namespace Edge.Runtime.Sampling;

/// <summary>
/// What the sampler needs of a request, as plain values: Sampling knows nothing of the request
/// types in Inference, so the dependency runs one way (Inference → Sampling).
/// </summary>
internal readonly record struct SamplingParameters(float Temperature, int TopK, float TopP, float MinP, long? Seed)
{
    public bool IsGreedy => Temperature == 0f;
}
