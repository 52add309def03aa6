namespace Edge.Runtime;

/// <summary>How the engine runs a model on this device.</summary>
public sealed record EngineOptions
{
    /// <summary>Threads ONNX Runtime uses inside one operator; 0 lets it pick (one per core).</summary>
    public int IntraOpThreads { get; init; }
}
