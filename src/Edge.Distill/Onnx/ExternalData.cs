using System.Globalization;
using System.Runtime.InteropServices;
using Edge.Distill.Onnx.Proto;
using Google.Protobuf;

namespace Edge.Distill.Onnx;

/// <summary>
/// ONNX external data: large initializers stored in a side file beside model.onnx, each at an
/// offset aligned to 64 KiB so ONNX Runtime can memory-map it (it maps external data whose
/// offset is a multiple of the page or allocation granularity; 64 KiB covers 4 K, 16 K and 64 K
/// pages). This lifts protobuf's 2 GB limit and lets a conversion write each weight as it is made.
/// Writes go in chunks, so one tensor may pass 2 GB (a 7B model's fp32 embedding table does).
/// </summary>
internal sealed class ExternalData : IDisposable
{
    public const int Alignment = 64 * 1024;

    /// <summary>Initializers smaller than this stay inside the graph.</summary>
    public const int MinimumBytes = 1024;

    private const int ChunkBytes = 16 << 20;

    private readonly FileStream _file;

    public ExternalData(string modelPath)
    {
        FileName = Path.GetFileName(modelPath) + ".data";
        _file = new FileStream(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, FileName), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
    }

    public string FileName { get; }

    public long Bytes => _file.Length;

    /// <summary>Writes the values to the side file and points the tensor at them.</summary>
    public void Store(TensorProto tensor, ReadOnlySpan<float> values)
    {
        long offset = Begin();
        for (int start = 0; start < values.Length; start += ChunkBytes / sizeof(float))
            _file.Write(MemoryMarshal.AsBytes(values.Slice(start, Math.Min(ChunkBytes / sizeof(float), values.Length - start))));
        Point(tensor, offset, (long)values.Length * sizeof(float));
    }

    /// <summary>
    /// Writes a tensor made of consecutive parts (one expert after another) as they are produced,
    /// so the whole tensor is never in memory; points the tensor at them and returns their byte count.
    /// </summary>
    public long Store(TensorProto tensor, IEnumerable<float[]> parts)
    {
        long offset = Begin();
        foreach (var part in parts)
        {
            for (int start = 0; start < part.Length; start += ChunkBytes / sizeof(float))
                _file.Write(MemoryMarshal.AsBytes(part.AsSpan(start, Math.Min(ChunkBytes / sizeof(float), part.Length - start))));
        }
        long length = _file.Length - offset;
        Point(tensor, offset, length);
        return length;
    }

    /// <summary>Writes the bytes to the side file and points the tensor at them.</summary>
    public void Store(TensorProto tensor, ReadOnlySpan<byte> bytes)
    {
        long offset = Begin();
        _file.Write(bytes);
        Point(tensor, offset, bytes.Length);
    }

    /// <summary>Copies a tensor's bytes from another package's external data into this file and points the tensor here.</summary>
    public void CopyFrom(TensorProto tensor, InitializerReader source)
    {
        long offset = Begin(), length = source.ByteLength(tensor);
        source.CopyBytes(tensor, _file);
        tensor.ExternalData.Clear();
        Point(tensor, offset, length);
    }

    private long Begin()
    {
        long offset = (_file.Length + Alignment - 1) / Alignment * Alignment;
        _file.SetLength(offset);
        _file.Position = offset;
        return offset;
    }

    private void Point(TensorProto tensor, long offset, long length)
    {
        tensor.RawData = ByteString.Empty;
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = FileName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(CultureInfo.InvariantCulture) });
    }

    public void Dispose() => _file.Dispose();
}
