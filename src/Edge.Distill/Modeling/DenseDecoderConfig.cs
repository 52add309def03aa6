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

    /// <summary>
    /// Refuses, naming it, a layout the exporters cannot build, whichever file it came from (config.json
    /// or GGUF metadata): sizes that are not positive, heads that do not group, an odd head size, or
    /// projections whose width passes what a tensor dimension can hold.
    /// </summary>
    /// <param name="source">Where the values came from, for the message.</param>
    public void Validate(string source)
    {
        void Require(bool condition, string message)
        {
            if (!condition)
                throw new InvalidDataException($"{source}: {message}");
        }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && MaxPositionEmbeddings > 0, "sizes must be positive.");
        Require(NumAttentionHeads > 0 && NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0, "the attention heads must be a positive multiple of the key/value heads.");
        Require(HeadDim > 0 && HeadDim % 2 == 0, "the head dimension must be even (RoPE rotates pairs).");
        Require((long)NumAttentionHeads * HeadDim <= int.MaxValue && (long)VocabSize * HiddenSize <= int.MaxValue, "the projections are larger than one tensor can be.");
    }

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
