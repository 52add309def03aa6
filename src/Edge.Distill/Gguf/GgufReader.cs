using System.Text;

namespace Edge.Distill.Gguf;

/// <summary>
/// Reads a GGUF v3 file's metadata and tensor descriptions, checking everything a hostile or
/// damaged file could get wrong before any tensor is read: the magic and version, counts and
/// string lengths that fit the file, known value and tensor types, sane shapes, aligned offsets
/// and tensor data that lies inside the file (a truncated download fails here, by name).
/// </summary>
internal sealed class GgufReader : IDisposable
{
    public sealed record TensorInfo(string Name, long[] Shape, GgmlType Type, long Offset, long Bytes)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    }

    private const long MaxCount = 10_000_000;

    /// <summary>Longer than any token, key or chat template; a hostile length fails here, not in an allocation.</summary>
    private const long MaxStringBytes = 16 << 20;

    private const int ChunkBytes = 8 << 20;
    private readonly FileStream _file;
    private readonly long _dataStart;

    private GgufReader(string path, FileStream file, Dictionary<string, GgufValue> metadata, Dictionary<string, TensorInfo> tensors, long dataStart)
    {
        Path = path;
        _file = file;
        Metadata = metadata;
        Tensors = tensors;
        _dataStart = dataStart;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    public static GgufReader Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
            long length = file.Length;
            string Where() => $"{path} at byte {file.Position}";
            void Need(long bytes, string what)
            {
                if (bytes < 0 || bytes > length - file.Position)
                    throw new InvalidDataException($"{Where()}: truncated or damaged GGUF ({what} needs {bytes} bytes, {length - file.Position} remain).");
            }
            Need(24, "the header");
            uint magic = reader.ReadUInt32();
            if (magic != GgufWriter.Magic)
                throw new InvalidDataException($"{path} is not a GGUF file (bad magic 0x{magic:X8}).");
            uint version = reader.ReadUInt32();
            if (version != 3)
                throw new InvalidDataException($"{path} is GGUF version {version}; this importer reads version 3.");
            long tensorCount = checked((long)reader.ReadUInt64()), kvCount = checked((long)reader.ReadUInt64());
            if (tensorCount > MaxCount || kvCount > MaxCount)
                throw new InvalidDataException($"{path}: {tensorCount} tensors and {kvCount} metadata entries is not a plausible GGUF header.");

            string ReadString()
            {
                Need(8, "a string length");
                long size = checked((long)reader.ReadUInt64());
                if (size > MaxStringBytes)
                    throw new InvalidDataException($"{Where()}: a string of {size} bytes (more than {MaxStringBytes}) is not a plausible GGUF value.");
                Need(size, "a string");
                return Encoding.UTF8.GetString(reader.ReadBytes((int)size));
            }
            object Scalar(GgufValueType type) => type switch
            {
                GgufValueType.UInt8 => reader.ReadByte(),
                GgufValueType.Int8 => reader.ReadSByte(),
                GgufValueType.UInt16 => reader.ReadUInt16(),
                GgufValueType.Int16 => reader.ReadInt16(),
                GgufValueType.UInt32 => reader.ReadUInt32(),
                GgufValueType.Int32 => reader.ReadInt32(),
                GgufValueType.Float32 => reader.ReadSingle(),
                GgufValueType.Bool => reader.ReadByte() != 0,
                GgufValueType.String => ReadString(),
                GgufValueType.UInt64 => reader.ReadUInt64(),
                GgufValueType.Int64 => reader.ReadInt64(),
                GgufValueType.Float64 => reader.ReadDouble(),
                _ => throw new InvalidDataException($"{Where()}: unknown GGUF value type {(uint)type}."),
            };
            GgufValue Value()
            {
                Need(4, "a value type");
                var type = (GgufValueType)reader.ReadUInt32();
                if (type != GgufValueType.Array)
                {
                    if (!Enum.IsDefined(type))
                        throw new InvalidDataException($"{Where()}: unknown GGUF value type {(uint)type}.");
                    return new GgufValue(type, Scalar(type));
                }
                Need(12, "an array header");
                var element = (GgufValueType)reader.ReadUInt32();
                long count = checked((long)reader.ReadUInt64());
                if (!Enum.IsDefined(element) || element == GgufValueType.Array)
                    throw new InvalidDataException($"{Where()}: arrays of GGUF value type {(uint)element} are not supported.");
                if (count > MaxCount)
                    throw new InvalidDataException($"{Where()}: an array of {count} values is not a plausible GGUF value.");
                Need(count * MinimumBytes(element), "an array");
                return element switch
                {
                    GgufValueType.String => new GgufValue(type, Enumerable.Range(0, (int)count).Select(_ => ReadString()).ToArray(), element),
                    GgufValueType.Int32 => new GgufValue(type, Enumerable.Range(0, (int)count).Select(_ => reader.ReadInt32()).ToArray(), element),
                    GgufValueType.UInt32 => new GgufValue(type, Enumerable.Range(0, (int)count).Select(_ => reader.ReadUInt32()).ToArray(), element),
                    GgufValueType.Float32 => new GgufValue(type, Enumerable.Range(0, (int)count).Select(_ => reader.ReadSingle()).ToArray(), element),
                    _ => new GgufValue(type, Enumerable.Range(0, (int)count).Select(_ => Scalar(element)).ToArray(), element),
                };
            }

            var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                string key = ReadString();
                metadata[key] = Value();
            }
            long alignment = metadata.TryGetValue("general.alignment", out var a) ? a.AsInteger() : GgufWriter.Alignment;
            if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
                throw new InvalidDataException($"{path}: general.alignment {alignment} is not a power of two.");

            var infos = new List<(string Name, long[] Shape, uint Type, long Offset)>();
            for (long i = 0; i < tensorCount; i++)
            {
                string name = ReadString();
                Need(4, "a tensor's dimension count");
                uint dims = reader.ReadUInt32();
                if (dims is 0 or > 4)
                    throw new InvalidDataException($"{path}: tensor '{name}' has {dims} dimensions.");
                Need(8L * dims + 12, "a tensor description");
                long[] ggmlShape = [.. Enumerable.Range(0, (int)dims).Select(_ => checked((long)reader.ReadUInt64()))];
                uint type = reader.ReadUInt32();
                long offset = checked((long)reader.ReadUInt64());
                if (ggmlShape.Any(d => d <= 0 || d > int.MaxValue))
                    throw new InvalidDataException($"{path}: tensor '{name}' has a dimension outside 1..{int.MaxValue}.");
                infos.Add((name, [.. ggmlShape.Reverse()], type, offset));
            }
            long dataStart = (file.Position + alignment - 1) / alignment * alignment;
            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            foreach (var (name, shape, type, offset) in infos)
            {
                if (!GgmlTypes.IsKnown(type))
                    throw new InvalidDataException($"{path}: tensor '{name}' has ggml type {type}, which this importer does not read (F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K are read).");
                long elements = shape.Aggregate(1L, (x, y) => checked(x * y));
                long bytes = GgmlTypes.ByteSize((GgmlType)type, shape[^1], elements);
                if (offset % alignment != 0)
                    throw new InvalidDataException($"{path}: tensor '{name}' starts at offset {offset}, not a multiple of the alignment {alignment}.");
                if (offset > length - dataStart || bytes > length - dataStart - offset) // compared without an overflowing sum
                    throw new InvalidDataException($"{path}: truncated: tensor '{name}' needs bytes up to {dataStart + offset + bytes}; the file has {length}.");
                if (!tensors.TryAdd(name, new TensorInfo(name, shape, (GgmlType)type, offset, bytes)))
                    throw new InvalidDataException($"{path}: tensor '{name}' is listed twice.");
            }
            return new GgufReader(path, file, metadata, tensors, dataStart);
        }
        catch (Exception e) when (e is EndOfStreamException or OverflowException or ArgumentException)
        {
            file.Dispose();
            throw new InvalidDataException($"{path}: truncated or damaged GGUF ({e.Message}).", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The least bytes one array element of the type takes (a string: its 8-byte length).</summary>
    private static long MinimumBytes(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        _ => 8,
    };

    /// <summary>A tensor's stored bytes as they are (for copying a tensor into another GGUF).</summary>
    public byte[] ReadBytes(TensorInfo tensor)
    {
        var bytes = new byte[tensor.Bytes];
        lock (_file)
        {
            _file.Position = _dataStart + tensor.Offset;
            _file.ReadExactly(bytes);
        }
        return bytes;
    }

    /// <summary>A tensor dequantized to float32, in PyTorch's order.</summary>
    public float[] ReadFloats(TensorInfo tensor) => ReadFloats(tensor, 0, tensor.Elements);

    /// <summary>
    /// Elements [start, start + count) of a tensor, dequantized to float32 chunk by chunk (no copy of
    /// the stored bytes is held, and a slice such as one expert of a stacked tensor reads only its own
    /// bytes). The range must cover whole blocks, as whole rows do.
    /// </summary>
    public float[] ReadFloats(TensorInfo tensor, long start, long count)
    {
        var (blockElements, blockBytes) = GgmlTypes.Block(tensor.Type);
        if (start < 0 || count < 0 || start > tensor.Elements - count || start % blockElements != 0 || count % blockElements != 0)
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start} + {count}) are not whole {tensor.Type} blocks of '{tensor.Name}'.");
        var values = new float[count];
        int blocksPerChunk = Math.Max(1, ChunkBytes / blockBytes);
        var buffer = new byte[(int)Math.Min((long)blocksPerChunk * blockBytes, count / blockElements * blockBytes)];
        for (long block = 0, blocks = count / blockElements; block < blocks; block += blocksPerChunk)
        {
            int chunk = (int)Math.Min(blocksPerChunk, blocks - block);
            var bytes = buffer.AsSpan(0, chunk * blockBytes);
            lock (_file)
            {
                _file.Position = _dataStart + tensor.Offset + (start / blockElements + block) * blockBytes;
                _file.ReadExactly(bytes);
            }
            GgmlCodec.Decode(bytes, tensor.Type, values.AsSpan((int)(block * blockElements), chunk * blockElements));
        }
        return values;
    }

    public GgufValue? Get(string key) => Metadata.TryGetValue(key, out var v) ? v : null;

    public void Dispose() => _file.Dispose();
}
