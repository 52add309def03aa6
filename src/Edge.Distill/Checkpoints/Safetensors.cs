using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw tensor bytes. Reading is per tensor, by
/// positioned reads in chunks converted as they arrive, so a checkpoint far larger than memory
/// converts one tensor at a time and the file's pages never count against the process (a memory
/// map would keep every page it touched resident); F32, F16, BF16 and F8_E4M3 (DeepSeek-V3's fp8)
/// are converted to float32 on read.
/// </summary>
internal sealed class Safetensors : IDisposable
{
    public sealed record Entry(string Name, string Dtype, long[] Shape, long Start, long End)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => checked(a * b));
    }

    private static readonly Dictionary<string, int> ElementBytes = new() { ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["F8_E4M3"] = 1 };

    private const int ChunkBytes = 8 << 20;

    private readonly SafeFileHandle _file;
    private readonly long _dataStart;

    private Safetensors(string path, SafeFileHandle file, long dataStart, Dictionary<string, Entry> entries)
    {
        Path = path;
        _file = file;
        _dataStart = dataStart;
        Entries = entries;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, Entry> Entries { get; }

    /// <summary>Opens and checks a file: header length, JSON, known dtypes, and byte ranges that match the shapes and lie inside the file.</summary>
    public static Safetensors Open(string path)
    {
        long length = new FileInfo(path).Length;
        if (length < 8)
            throw new InvalidDataException($"{path} is not a safetensors file ({length} bytes).");
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            ReadExactly(file, lengthBytes, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength > (ulong)length - 8 || headerLength > 100_000_000)
                throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength}, file {length} bytes).");
            var headerBytes = new byte[headerLength];
            ReadExactly(file, headerBytes, 8);
            long dataStart = 8 + (long)headerLength;
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            JsonDocument header;
            try
            {
                header = JsonDocument.Parse(headerBytes);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: the safetensors header is not JSON ({e.Message}).");
            }
            using (header)
            {
                try
                {
                    foreach (var item in header.RootElement.EnumerateObject())
                    {
                        if (item.Name == "__metadata__")
                            continue;
                        string dtype = item.Value.GetProperty("dtype").GetString() ?? "";
                        if (!ElementBytes.TryGetValue(dtype, out int size))
                            throw new InvalidDataException($"{path}: tensor '{item.Name}' is {dtype}; supported are {string.Join(", ", ElementBytes.Keys)}.");
                        long[] shape = [.. item.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
                        if (shape.Any(d => d < 0))
                            throw new InvalidDataException($"{path}: tensor '{item.Name}' has a negative dimension.");
                        var offsets = item.Value.GetProperty("data_offsets");
                        var entry = new Entry(item.Name, dtype, shape, offsets[0].GetInt64(), offsets[1].GetInt64());
                        // Compared without sums that could wrap: a hostile end near long.MaxValue is simply too far.
                        if (entry.Start < 0 || entry.End - entry.Start != checked(entry.Elements * size) || entry.End > length - dataStart)
                            throw new InvalidDataException($"{path}: tensor '{item.Name}' has offsets [{entry.Start}, {entry.End}) that do not fit its shape or the file (truncated?).");
                        entries[item.Name] = entry;
                    }
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or OverflowException)
                {
                    throw new InvalidDataException($"{path}: the safetensors header is damaged ({e.Message}).", e);
                }
            }
            return new Safetensors(path, file, dataStart, entries);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A tensor as float32, converted from its stored dtype chunk by chunk (no copy of the stored bytes is held).</summary>
    public float[] ReadFloats(string name)
    {
        var entry = Entries[name];
        int size = ElementBytes[entry.Dtype];
        var values = new float[entry.Elements];
        var buffer = new byte[Math.Min(ChunkBytes, entry.End - entry.Start)];
        int perChunk = ChunkBytes / size;
        for (long done = 0; done < values.Length; done += perChunk)
        {
            int count = (int)Math.Min(perChunk, values.Length - done);
            var bytes = buffer.AsSpan(0, count * size);
            ReadExactly(_file, bytes, _dataStart + entry.Start + done * size);
            Convert(bytes, entry.Dtype, values.AsSpan((int)done, count));
        }
        return values;
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read == 0)
                throw new InvalidDataException("the safetensors file ended early (truncated while being read?).");
            buffer = buffer[read..];
            offset += read;
        }
    }

    private static void Convert(ReadOnlySpan<byte> bytes, string dtype, Span<float> values)
    {
        switch (dtype)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                break;
            case "F16":
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case "BF16":
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case "F8_E4M3":
                for (int i = 0; i < values.Length; i++)
                    values[i] = Float8E4M3.Values[bytes[i]];
                break;
            default:
                throw new InvalidDataException($"dtype {dtype} is not supported.");
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Reads every tensor of a file as float32 (our own small checkpoints).</summary>
    public static Dictionary<string, (long[] Shape, float[] Data)> Read(string path)
    {
        using var file = Open(path);
        return file.Entries.Values.ToDictionary(e => e.Name, e => (e.Shape, file.ReadFloats(e.Name)), StringComparer.Ordinal);
    }

    public static void Write(string path, IEnumerable<(string Name, long[] Shape, float[] Data)> tensors) =>
        Write(path, tensors.Select(t => (t.Name, "F32", t.Shape, MemoryMarshal.AsBytes(t.Data.AsSpan()).ToArray())));

    /// <summary>Writes tensors already encoded in their dtype, sorted by name as Hugging Face writes them.</summary>
    public static void Write(string path, IEnumerable<(string Name, string Dtype, long[] Shape, byte[] Data)> tensors)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, dtype, shape, data) in ordered)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + data.Length)),
            };
            offset += data.Length;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8; // the format aligns the data to 8 bytes with spaces
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(headerBytes);
        for (int i = headerBytes.Length; i < padded; i++)
            stream.WriteByte((byte)' ');
        foreach (var (_, _, _, data) in ordered)
            stream.Write(data);
    }
}

/// <summary>
/// float8 e4m3fn (what DeepSeek-V3 stores its weights in): 1 sign bit, 4 exponent bits with bias 7,
/// 3 mantissa bits; exponent 0 is subnormal; 0x7F and 0xFF are NaN and there is no infinity.
/// </summary>
internal static class Float8E4M3
{
    public static readonly float[] Values = [.. Enumerable.Range(0, 256).Select(Decode)];

    private static float Decode(int bits)
    {
        int sign = bits >> 7, exponent = (bits >> 3) & 0x0F, mantissa = bits & 0x07;
        if ((bits & 0x7F) == 0x7F)
            return float.NaN;
        double magnitude = exponent == 0 ? mantissa / 8.0 * Math.Pow(2, -6) : (1 + mantissa / 8.0) * Math.Pow(2, exponent - 7);
        return (float)(sign == 1 ? -magnitude : magnitude);
    }
}
