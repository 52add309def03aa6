namespace Edge.Distill.Gguf;

/// <summary>GGUF's metadata value types (the GGUF v3 specification, ggml's gguf.h).</summary>
internal enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>The ggml tensor types this tool reads or writes, with ggml's numbers.</summary>
internal enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    Q4_K = 12,
    Q6_K = 14,
    BF16 = 30,
}

/// <summary>Block geometry of each ggml type: elements per block and bytes per block.</summary>
internal static class GgmlTypes
{
    public static bool IsKnown(uint type) => Enum.IsDefined(typeof(GgmlType), type);

    public static (int Elements, int Bytes) Block(GgmlType type) => type switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 => (1, 2),
        GgmlType.BF16 => (1, 2),
        GgmlType.Q8_0 => (32, 34),   // fp16 scale + 32 int8
        GgmlType.Q4_0 => (32, 18),   // fp16 scale + 32 nibbles
        GgmlType.Q4_K => (256, 144), // fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        GgmlType.Q6_K => (256, 210), // 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, fp16 d
        _ => throw new InvalidDataException($"ggml type {type} has no known block layout."),
    };

    /// <summary>Bytes of a tensor of this type, or an error when its rows do not fill whole blocks.</summary>
    public static long ByteSize(GgmlType type, long innermost, long elements)
    {
        var (blockElements, blockBytes) = Block(type);
        if (innermost % blockElements != 0)
            throw new InvalidDataException($"a {type} tensor needs rows that are a multiple of {blockElements} elements; this one has rows of {innermost}.");
        return checked(elements / blockElements * blockBytes);
    }
}
