using System.Globalization;
using System.Runtime.InteropServices;
using Edge.Distill.Onnx.Proto;

namespace Edge.Distill.Onnx;

/// <summary>
/// Reads a model's initializers wherever they are: inside the graph, or in external data files of
/// the package folder, one tensor at a time (a rewrite of a 7B model never holds all of it).
/// Locations that leave the folder are refused.
/// </summary>
internal sealed class InitializerReader(string directory) : IDisposable
{
    private readonly Dictionary<string, FileStream> _files = new(StringComparer.Ordinal);

    public static bool IsExternal(TensorProto tensor) => tensor.DataLocation == TensorProto.Types.DataLocation.External;

    public float[] Floats(TensorProto tensor)
    {
        if (!IsExternal(tensor))
            return tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
        var (file, offset, length) = Locate(tensor);
        if (length % sizeof(float) != 0)
            throw new InvalidDataException($"initializer '{tensor.Name}' is float but holds {length} bytes, not whole floats.");
        Checkpoints.TensorMemory.BeforeRead(length);
        var values = new float[length / sizeof(float)];
        file.Position = offset;
        const int chunk = 4 << 20; // floats per read: spans of bytes stop at 2 GB
        for (int start = 0; start < values.Length; start += chunk)
            file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan(start, Math.Min(chunk, values.Length - start))));
        return values;
    }

    public long ByteLength(TensorProto tensor) => IsExternal(tensor) ? Locate(tensor).Length : tensor.RawData.Length;

    /// <summary>The tensor's stored bytes, copied to <paramref name="destination"/> in chunks.</summary>
    public void CopyBytes(TensorProto tensor, Stream destination)
    {
        if (!IsExternal(tensor))
        {
            tensor.RawData.WriteTo(destination);
            return;
        }
        var (file, offset, length) = Locate(tensor);
        file.Position = offset;
        var buffer = new byte[1 << 20];
        for (long left = length; left > 0;)
        {
            int read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
                throw new InvalidDataException($"initializer '{tensor.Name}' runs past the end of its external data file.");
            destination.Write(buffer, 0, read);
            left -= read;
        }
    }

    private (FileStream File, long Offset, long Length) Locate(TensorProto tensor)
    {
        string? location = null, offsetText = "0", lengthText = null;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offsetText = entry.Value; break;
                case "length": lengthText = entry.Value; break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new InvalidDataException($"initializer '{tensor.Name}' is external but names no file.");
        if (location != Path.GetFileName(location) || location.StartsWith('.'))
            throw new InvalidDataException($"initializer '{tensor.Name}' points outside the package ({location}).");
        if (!long.TryParse(offsetText, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out long offset)
            || !long.TryParse(lengthText, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out long length))
            throw new InvalidDataException($"initializer '{tensor.Name}' has an external offset '{offsetText}' or length '{lengthText}' that is not a whole number of bytes.");
        if (!_files.TryGetValue(location, out var file))
        {
            string path = Path.Combine(directory, location);
            if (!File.Exists(path))
                throw new InvalidDataException($"initializer '{tensor.Name}' is in {location}, which the package does not have.");
            _files[location] = file = File.OpenRead(path);
        }
        if (offset > file.Length - length)
            throw new InvalidDataException($"initializer '{tensor.Name}' ({offset} + {length} bytes) lies outside {location} ({file.Length} bytes).");
        return (file, offset, length);
    }

    public void Dispose()
    {
        foreach (var file in _files.Values)
            file.Dispose();
    }
}
