using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Providers;

/// <summary>
/// Lets a device use a vendor build of ONNX Runtime (for example JetPack's, with CUDA and
/// TensorRT) instead of the CPU build the NuGet package ships. Must run before the first
/// ONNX Runtime call of the process.
/// </summary>
public static class OnnxRuntimeLibrary
{
    private static string? s_path;

    public static void Use(string path)
    {
        if (!File.Exists(path))
            throw new ModelLoadException($"OnnxRuntime:NativeLibraryPath names {path}, which does not exist.");
        if (s_path is not null)
        {
            if (s_path != path)
                throw new InvalidOperationException($"ONNX Runtime is already bound to {s_path}; it cannot change within a process.");
            return;
        }
        s_path = path;
        NativeLibrary.SetDllImportResolver(typeof(InferenceSession).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == "onnxruntime" && s_path is not null ? NativeLibrary.Load(s_path) : IntPtr.Zero;
}
