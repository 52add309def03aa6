using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header, raw tensor bytes),
/// float32 tensors only: what Hugging Face's save_pretrained writes for an fp32 model.
/// </summary>
internal static class Safetensors
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, float[] Data)> tensors)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape, data) in ordered)
        {
            long end = offset + (long)data.Length * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(end)),
            };
            offset = end;
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
        foreach (var (_, _, data) in ordered)
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
    }

    public static Dictionary<string, (long[] Shape, float[] Data)> Read(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > (ulong)stream.Length - 8)
            throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength}).");
        byte[] headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        using var header = JsonDocument.Parse(headerBytes);
        var result = new Dictionary<string, (long[], float[])>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
                continue;
            string dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
            if (dtype != "F32")
                throw new InvalidDataException($"{path}: tensor '{entry.Name}' is {dtype}; only F32 checkpoints are supported.");
            long[] shape = [.. entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
            var offsets = entry.Value.GetProperty("data_offsets");
            long start = offsets[0].GetInt64(), end = offsets[1].GetInt64();
            long elements = shape.Aggregate(1L, (a, b) => a * b);
            if (end - start != elements * sizeof(float) || dataStart + end > stream.Length)
                throw new InvalidDataException($"{path}: tensor '{entry.Name}' has offsets [{start}, {end}) that do not fit its shape or the file.");
            var data = new float[elements];
            stream.Position = dataStart + start;
            stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            result[entry.Name] = (shape, data);
        }
        return result;
    }
}
