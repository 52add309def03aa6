using System.Text.Json.Serialization;

namespace Edge.Runtime.Packaging;

/// <summary>
/// manifest.json of a model package: what the package is, every file pinned by size and
/// sha256, and a smoke test the model must pass before it serves.
/// </summary>
public sealed record ModelManifest
{
    public const string FileName = "manifest.json";

    public required string Name { get; init; }
    public required string Version { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required ArchitectureSummary Architecture { get; init; }
    public string Quantization { get; init; } = "none";
    public required IReadOnlyList<PackageFile> Files { get; init; }
    public SmokeTest? SmokeTest { get; init; }
    public required string MinRuntimeVersion { get; init; }
    /// <summary>Where an imported model came from; null for models edge-distill trained.</summary>
    public ModelSource? Source { get; init; }
}

/// <summary>
/// Provenance of an imported model: the format and name it came from, its architecture and
/// stored dtypes, and what the conversion did to the weights (exact copy, dequantized, re-quantized).
/// </summary>
public sealed record ModelSource(string Format, string Origin, string Architecture, string Dtype, string Conversion);

public sealed record ArchitectureSummary
{
    public required string ModelType { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int VocabSize { get; init; }
    public required int ContextLength { get; init; }
    public required long Parameters { get; init; }
    public long? ActiveParametersPerToken { get; init; }
    public int? RoutedExperts { get; init; }
    public int? ExpertsPerToken { get; init; }
    public string? Attention { get; init; }
}

public sealed record PackageFile(string Path, string Sha256, long Bytes);

/// <summary>A prompt and the greedy token ids the model must produce for it.</summary>
public sealed record SmokeTest(string Prompt, IReadOnlyList<int> ExpectedIds);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ModelManifest))]
[JsonSerializable(typeof(GenAiConfig))]
internal sealed partial class PackageJsonContext : JsonSerializerContext;
