using System.Text.Json.Serialization;

namespace Edge.Runtime.Packaging;

/// <summary>
/// genai_config.json in the onnxruntime-genai layout: which file is the decoder, the names of
/// its inputs and outputs, the context length and the search defaults.
/// </summary>
public sealed record GenAiConfig
{
    public const string FileName = "genai_config.json";

    public required GenAiModel Model { get; init; }
    public GenAiSearch Search { get; init; } = new();
}

public sealed record GenAiModel
{
    public required string Type { get; init; }
    public required int ContextLength { get; init; }
    public required int VocabSize { get; init; }
    public int? BosTokenId { get; init; }
    public required IReadOnlyList<int> EosTokenId { get; init; }
    public int? PadTokenId { get; init; }
    public required GenAiDecoder Decoder { get; init; }
}

public sealed record GenAiDecoder
{
    public required string Filename { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadSize { get; init; }
    public required GenAiInputs Inputs { get; init; }
    public required GenAiOutputs Outputs { get; init; }
}

/// <summary>Input names; past names hold a %d for the layer index.</summary>
public sealed record GenAiInputs
{
    public string InputIds { get; init; } = "input_ids";
    public string AttentionMask { get; init; } = "attention_mask";
    public string? PositionIds { get; init; } = "position_ids";
    public required string PastKeyNames { get; init; }
    public required string PastValueNames { get; init; }
}

public sealed record GenAiOutputs
{
    public string Logits { get; init; } = "logits";
    public required string PresentKeyNames { get; init; }
    public required string PresentValueNames { get; init; }
}

public sealed record GenAiSearch
{
    public bool DoSample { get; init; }
    public int MaxLength { get; init; } = 2048;
    public int NumBeams { get; init; } = 1;
    public float Temperature { get; init; } = 1.0f;
    public int TopK { get; init; } = 1;
    public float TopP { get; init; } = 1.0f;
    public float RepetitionPenalty { get; init; } = 1.0f;

    /// <summary>
    /// Past and present are one buffer of the context's capacity that the graph updates in place
    /// (onnxruntime-genai's flag); otherwise present = concat(past, new).
    /// </summary>
    public bool PastPresentShareBuffer { get; init; }
}
