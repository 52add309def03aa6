namespace Edge.Distill.Gguf;

/// <summary>One metadata value of a GGUF file: its type and the .NET value that holds it.</summary>
/// <remarks>Arrays keep their element type: a token list is <c>Array</c> of <c>String</c> held as string[].</remarks>
internal sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufValue Of(string value) => new(GgufValueType.String, value);

    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, value);

    public static GgufValue Of(int value) => new(GgufValueType.Int32, value);

    public static GgufValue Of(float value) => new(GgufValueType.Float32, value);

    public static GgufValue Of(bool value) => new(GgufValueType.Bool, value);

    public static GgufValue Of(string[] values) => new(GgufValueType.Array, values, GgufValueType.String);

    public static GgufValue Of(int[] values) => new(GgufValueType.Array, values, GgufValueType.Int32);

    public static GgufValue Of(float[] values) => new(GgufValueType.Array, values, GgufValueType.Float32);

    public string AsString() => Value as string ?? throw new InvalidDataException($"expected a string, found {Type}.");

    public string[] AsStrings() => Value as string[] ?? throw new InvalidDataException($"expected an array of strings, found {Describe()}.");

    /// <summary>Any integer type as a long; GGUF writers differ in which width they use for the same key.</summary>
    public long AsInteger() => Value switch
    {
        byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, ulong v => checked((long)v), long v => v,
        _ => throw new InvalidDataException($"expected an integer, found {Describe()}."),
    };

    public double AsNumber() => Value switch
    {
        float v => v, double v => v,
        _ => AsInteger(),
    };

    public bool AsBool() => Value is bool b ? b : throw new InvalidDataException($"expected a bool, found {Describe()}.");

    /// <summary>An integer array (token types) as ints, whatever width the file used.</summary>
    public int[] AsIntegers() => Value switch
    {
        int[] v => v,
        uint[] v => [.. v.Select(x => checked((int)x))],
        long[] v => [.. v.Select(x => checked((int)x))],
        byte[] v => [.. v.Select(x => (int)x)],
        sbyte[] v => [.. v.Select(x => (int)x)],
        short[] v => [.. v.Select(x => (int)x)],
        ushort[] v => [.. v.Select(x => (int)x)],
        _ => throw new InvalidDataException($"expected an integer array, found {Describe()}."),
    };

    private string Describe() => Type == GgufValueType.Array ? $"an array of {ElementType}" : Type.ToString();
}
