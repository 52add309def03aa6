namespace Edge.Runtime.Providers;

/// <summary>One entry of the engine's ordered execution-provider list, with its options.</summary>
public sealed record ExecutionProvider
{
    public required string Name { get; init; }

    /// <summary>CUDA / TensorRT device.</summary>
    public int DeviceId { get; init; }

    /// <summary>TensorRT: build fp16 engines.</summary>
    public bool Fp16Precision { get; init; } = true;

    /// <summary>TensorRT: build int8 engines (needs a calibrated or QDQ model).</summary>
    public bool Int8Precision { get; init; }

    /// <summary>CPU / XNNPACK: threads inside one operator; 0 lets ONNX Runtime choose.</summary>
    public int Threads { get; init; }

    public static ExecutionProvider Cpu { get; } = new() { Name = "cpu" };

    /// <summary>Parses "tensorrt,cuda,cpu" style lists.</summary>
    public static IReadOnlyList<ExecutionProvider> ParseList(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => new ExecutionProvider { Name = name.ToLowerInvariant() })
            .ToList();
}
