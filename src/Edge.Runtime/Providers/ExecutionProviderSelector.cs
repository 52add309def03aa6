using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Providers;

/// <summary>
/// Appends the requested execution providers to a session, in order, skipping (or, when strict,
/// refusing) those the loaded ONNX Runtime library was not built with. ONNX Runtime places each
/// node on the first provider that can run it; the CPU provider always remains as the fallback.
/// </summary>
internal static class ExecutionProviderSelector
{
    private static readonly Dictionary<string, string> OrtNames = new()
    {
        ["tensorrt"] = "TensorrtExecutionProvider",
        ["cuda"] = "CUDAExecutionProvider",
        ["nnapi"] = "NnapiExecutionProvider",
        ["xnnpack"] = "XnnpackExecutionProvider",
        ["cpu"] = "CPUExecutionProvider",
    };

    public static IReadOnlyCollection<string> KnownNames => OrtNames.Keys;

    /// <returns>The provider that will run the model (the first one appended), and warnings about skipped ones.</returns>
    public static (string Provider, IReadOnlyList<string> Warnings) Configure(SessionOptions session, EngineOptions options)
    {
        var available = OrtEnv.Instance().GetAvailableProviders().ToHashSet(StringComparer.Ordinal);
        var warnings = new List<string>();
        string? chosen = null;
        foreach (var provider in options.ExecutionProviders)
        {
            if (!OrtNames.TryGetValue(provider.Name, out string? ortName))
                throw new ModelLoadException($"Unknown execution provider '{provider.Name}'; known providers: {string.Join(", ", OrtNames.Keys)}.");
            if (!available.Contains(ortName))
            {
                string why = provider.Name == "nnapi"
                    ? "NNAPI is an Android API and exists only in Android builds of ONNX Runtime; on Raspberry Pi OS and Jetson use xnnpack/cpu or cuda/tensorrt"
                    : $"this ONNX Runtime library was built without it (it has: {string.Join(", ", available.Select(ShortName))}); on a Jetson point OnnxRuntime:NativeLibraryPath at JetPack's build";
                string message = $"Execution provider '{provider.Name}' is not available: {why}.";
                if (options.StrictProviders)
                    throw new ModelLoadException(message);
                warnings.Add(message + " Skipped.");
                continue;
            }
            Append(session, provider, options);
            chosen ??= provider.Name;
        }
        return (chosen ?? "cpu", warnings);
    }

    private static void Append(SessionOptions session, ExecutionProvider provider, EngineOptions options)
    {
        switch (provider.Name)
        {
            case "tensorrt":
            {
                using var trt = new OrtTensorRTProviderOptions();
                string cache = Path.Combine(options.StateDirectory ?? Path.GetTempPath(), "tensorrt-cache");
                Directory.CreateDirectory(cache);
                // Building engines on a Jetson takes minutes: keep them (and the timing cache) across restarts.
                trt.UpdateOptions(new Dictionary<string, string>
                {
                    ["device_id"] = provider.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["trt_fp16_enable"] = provider.Fp16Precision ? "1" : "0",
                    ["trt_int8_enable"] = provider.Int8Precision ? "1" : "0",
                    ["trt_engine_cache_enable"] = "1",
                    ["trt_engine_cache_path"] = cache,
                    ["trt_timing_cache_enable"] = "1",
                    ["trt_timing_cache_path"] = cache,
                });
                session.AppendExecutionProvider_Tensorrt(trt);
                break;
            }
            case "cuda":
                session.AppendExecutionProvider_CUDA(provider.DeviceId);
                break;
            case "xnnpack":
                session.AppendExecutionProvider("XNNPACK", new Dictionary<string, string>
                {
                    ["intra_op_num_threads"] = provider.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
                break;
            case "nnapi":
                session.AppendExecutionProvider_Nnapi();
                break;
            case "cpu":
                if (provider.Threads > 0)
                    session.IntraOpNumThreads = provider.Threads;
                break;
        }
    }

    private static string ShortName(string ortName) =>
        OrtNames.FirstOrDefault(p => p.Value == ortName).Key ?? ortName;
}
