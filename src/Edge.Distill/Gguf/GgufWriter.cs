using System.Buffers.Binary;
using System.Text;

namespace Edge.Distill.Gguf;

/// <summary>
/// Writes a GGUF v3 file: header, metadata, tensor descriptions, then each tensor's data at an
/// aligned offset. Tensors are declared with their shape and type first and encoded only while
/// the file is written, one at a time, so a large model never sits in memory whole.
/// </summary>
internal sealed class GgufWriter
{
    public const uint Version = 3;
    public const int Alignment = 32;

    /// <summary>"GGUF", little-endian: a file's first four bytes.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>Whether a file starts with the GGUF magic (a file <c>export --out</c> may replace).</summary>
    public static bool IsGguf(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return file.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head) == Magic;
    }

    private readonly List<(string Key, GgufValue Value)> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];

    private sealed record PendingTensor(string Name, long[] Shape, GgmlType Type, long Bytes, Func<byte[]> Encode);

    public IReadOnlyList<string> TensorNames => _tensors.Select(t => t.Name).ToList();

    public void Add(string key, GgufValue value)
    {
        if (_metadata.Any(m => m.Key == key))
            throw new ArgumentException($"GGUF key '{key}' is set twice.");
        _metadata.Add((key, value));
    }

    /// <param name="shape">PyTorch order (outermost first); GGUF stores it innermost first.</param>
    /// <param name="encode">Produces the tensor's bytes in <paramref name="type"/>; called once, while writing.</param>
    public void AddTensor(string name, long[] shape, GgmlType type, Func<byte[]> encode)
    {
        if (_tensors.Any(t => t.Name == name))
            throw new ArgumentException($"GGUF tensor '{name}' is added twice.");
        long elements = shape.Aggregate(1L, (a, b) => checked(a * b));
        _tensors.Add(new PendingTensor(name, shape, type, GgmlTypes.ByteSize(type, shape[^1], elements), encode));
    }

    public void Write(string path, Action<long>? progress = null)
    {
        string partial = path + ".partial";
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var writer = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write((ulong)_tensors.Count);
            writer.Write((ulong)(_metadata.Count + 1));
            WriteString(writer, "general.alignment");
            writer.Write((uint)GgufValueType.UInt32);
            writer.Write((uint)Alignment);
            foreach (var (key, value) in _metadata)
            {
                WriteString(writer, key);
                WriteValue(writer, value);
            }

            long offset = 0;
            foreach (var tensor in _tensors)
            {
                WriteString(writer, tensor.Name);
                writer.Write((uint)tensor.Shape.Length);
                for (int i = tensor.Shape.Length - 1; i >= 0; i--)
                    writer.Write((ulong)tensor.Shape[i]);
                writer.Write((uint)tensor.Type);
                writer.Write((ulong)offset);
                offset = Align(offset + tensor.Bytes);
            }
            writer.Flush();
            Pad(file);
            long dataStart = file.Position;
            foreach (var tensor in _tensors)
            {
                byte[] bytes = tensor.Encode();
                if (bytes.Length != tensor.Bytes)
                    throw new InvalidOperationException($"GGUF tensor '{tensor.Name}' encoded to {bytes.Length} bytes; its shape and type need {tensor.Bytes}.");
                file.Write(bytes);
                Pad(file, dataStart);
                progress?.Invoke(bytes.Length);
            }
        }
        File.Move(partial, path, overwrite: true);
    }

    private static long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream, long origin = 0)
    {
        long relative = stream.Position - origin;
        for (long i = relative; i < Align(relative); i++)
            stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValue value)
    {
        writer.Write((uint)value.Type);
        if (value.Type != GgufValueType.Array)
        {
            WriteScalar(writer, value.Type, value.Value);
            return;
        }
        var items = (Array)value.Value;
        writer.Write((uint)value.ElementType);
        writer.Write((ulong)items.Length);
        foreach (object? item in items)
            WriteScalar(writer, value.ElementType, item!);
    }

    private static void WriteScalar(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.UInt64: writer.Write((ulong)value); break;
            default: throw new ArgumentException($"writing GGUF values of type {type} is not supported.");
        }
    }
}
