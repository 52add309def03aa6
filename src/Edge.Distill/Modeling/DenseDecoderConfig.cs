using System.Text.Json;

namespace Edge.Distill.Modeling;

/// <summary>
/// A dense Llama-family decoder (Hugging Face model_type <c>qwen2</c> or <c>llama</c>: the
/// DeepSeek-R1-Distill-Qwen and -Llama checkpoints): grouped-query attention with RoPE, SwiGLU
/// MLPs, RMSNorm. Qwen2 adds biases to the q, k and v projections; Llama 3.1 scales RoPE
/// (rope_type llama3).
/// </summary>
internal sealed record DenseDecoderConfig
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required float RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>Biases on q, k and v (Qwen2 always; Llama when attention_bias is set).</summary>
    public required bool QkvBias { get; init; }
    public Llama3RopeScaling? RopeScaling { get; init; }
    /// <summary>Per-frequency divisors of the RoPE frequencies, as a GGUF's rope_freqs tensor gives them (Llama 3.1's scaling, precomputed).</summary>
    public float[]? RopeFrequencyFactors { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }

    public int QueryGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>RoPE inverse frequencies, with Llama 3.1's wavelength-dependent scaling when configured.</summary>
    public float[] InverseFrequencies()
    {
        var plain = Enumerable.Range(0, HeadDim / 2).Select(i => 1.0 / Math.Pow(RopeTheta, 2.0 * i / HeadDim)).ToArray();
        if (RopeFrequencyFactors is { } factors)
        {
            if (factors.Length != plain.Length)
                throw new InvalidDataException($"rope_freqs has {factors.Length} factors; a head of {HeadDim} needs {plain.Length}.");
            return [.. plain.Select((f, i) => (float)(f / factors[i]))];
        }
        return [.. plain.Select(f => (float)(RopeScaling is { } s ? s.Scale(f) : f))];
    }
}
