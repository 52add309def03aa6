using Edge.Distill.Onnx.Proto;
using Google.Protobuf;

namespace Edge.Distill.Onnx;

/// <summary>
/// ONNX external data: large initializers stored in a side file beside model.onnx, each at an
/// offset aligned to 64 KiB so ONNX Runtime can memory-map it (it maps external data whose
/// offset is a multiple of the page or allocation granularity; 64 KiB covers 4 K, 16 K and 64 K
/// pages). This lifts protobuf's 2 GB limit and lets a conversion write each weight as it is made.
/// </summary>
internal sealed class ExternalData : IDisposable
{
    public const int Alignment = 64 * 1024;

    /// <summary>Initializers smaller than this stay inside the graph.</summary>
    public const int MinimumBytes = 1024;

    private readonly FileStream _file;

    public ExternalData(string modelPath)
    {
        FileName = Path.GetFileName(modelPath) + ".data";
        _file = new FileStream(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, FileName), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
    }

    public string FileName { get; }

    public long Bytes => _file.Length;

    /// <summary>Writes the tensor's bytes to the side file and points the tensor at them.</summary>
    public void Store(TensorProto tensor, ReadOnlySpan<byte> bytes)
    {
        long offset = (_file.Length + Alignment - 1) / Alignment * Alignment;
        _file.SetLength(offset);
        _file.Position = offset;
        _file.Write(bytes);
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = FileName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>Reads every external initializer of a model back into its raw_data (for graph rewrites that need the weights).</summary>
    public static void Inline(ModelProto model, string directory)
    {
        var files = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            foreach (var tensor in model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
            {
                var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
                string location = entries["location"];
                if (location.Contains('/') || location.Contains('\\') || location.StartsWith('.'))
                    throw new InvalidDataException($"initializer '{tensor.Name}' points outside the package ({location}).");
                if (!files.TryGetValue(location, out var file))
                    files[location] = file = File.OpenRead(Path.Combine(directory, location));
                long offset = entries.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
                int length = checked((int)long.Parse(entries["length"], System.Globalization.CultureInfo.InvariantCulture));
                var bytes = new byte[length];
                file.Position = offset;
                file.ReadExactly(bytes);
                tensor.RawData = ByteString.CopyFrom(bytes);
                tensor.ExternalData.Clear();
                tensor.DataLocation = TensorProto.Types.DataLocation.Default;
            }
        }
        finally
        {
            foreach (var file in files.Values)
                file.Dispose();
        }
    }

    public void Dispose() => _file.Dispose();
}
