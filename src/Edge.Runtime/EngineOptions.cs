using Edge.Runtime.Providers;

namespace Edge.Runtime;

/// <summary>How the engine runs a model on this device.</summary>
public sealed record EngineOptions
{
    /// <summary>Threads ONNX Runtime uses inside one operator; 0 lets it pick (one per core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Providers to try, in order (tensorrt, cuda, nnapi, xnnpack, cpu). One the loaded ONNX
    /// Runtime lacks is skipped with a warning, unless <see cref="StrictProviders"/>.
    /// </summary>
    public IReadOnlyList<ExecutionProvider> ExecutionProviders { get; init; } = [ExecutionProvider.Cpu];

    /// <summary>Fail the load instead of skipping a provider that is not available.</summary>
    public bool StrictProviders { get; init; }

    /// <summary>Where providers keep caches (TensorRT engines); a temporary folder when null.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Instruments to record into; none when null.</summary>
    public Diagnostics.RuntimeMetrics? Metrics { get; init; }
}
