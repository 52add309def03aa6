using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw tensor bytes. Reading is memory-mapped and
/// per tensor, so a checkpoint far larger than memory converts one tensor at a time; F32, F16,
/// BF16 and F8_E4M3 (DeepSeek-V3's fp8) are converted to float32 on read.
/// </summary>
internal sealed class Safetensors : IDisposable
{
    public sealed record Entry(string Name, string Dtype, long[] Shape, long Start, long End)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => checked(a * b));
    }

    private static readonly Dictionary<string, int> ElementBytes = new() { ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["F8_E4M3"] = 1 };

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataStart;

    private Safetensors(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart, Dictionary<string, Entry> entries)
    {
        Path = path;
        _map = map;
        _view = view;
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
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        try
        {
            ulong headerLength = view.ReadUInt64(0);
            if (headerLength > (ulong)length - 8 || headerLength > 100_000_000)
                throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength}, file {length} bytes).");
            var headerBytes = new byte[headerLength];
            view.ReadArray(8, headerBytes, 0, headerBytes.Length);
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
                    if (entry.Start < 0 || entry.End - entry.Start != checked(entry.Elements * size) || dataStart + entry.End > length)
                        throw new InvalidDataException($"{path}: tensor '{item.Name}' has offsets [{entry.Start}, {entry.End}) that do not fit its shape or the file (truncated?).");
                    entries[item.Name] = entry;
                }
            }
            return new Safetensors(path, map, view, dataStart, entries);
        }
        catch
        {
            view.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>A tensor as float32, converted from its stored dtype.</summary>
    public float[] ReadFloats(string name)
    {
        var entry = Entries[name];
        var bytes = new byte[entry.End - entry.Start];
        _view.ReadArray(_dataStart + entry.Start, bytes, 0, bytes.Length);
        return ToFloats(bytes, entry.Dtype);
    }

    public static float[] ToFloats(ReadOnlySpan<byte> bytes, string dtype)
    {
        switch (dtype)
        {
            case "F32":
                return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case "F16":
            {
                var values = new float[bytes.Length / 2];
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                return values;
            }
            case "BF16":
            {
                var values = new float[bytes.Length / 2];
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                return values;
            }
            case "F8_E4M3":
            {
                var values = new float[bytes.Length];
                for (int i = 0; i < values.Length; i++)
                    values[i] = Float8E4M3.Values[bytes[i]];
                return values;
            }
            default:
                throw new InvalidDataException($"dtype {dtype} is not supported.");
        }
    }

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }

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
