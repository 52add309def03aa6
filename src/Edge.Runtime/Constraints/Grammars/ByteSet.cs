namespace Edge.Runtime.Constraints.Grammars;

/// <summary>A set of byte values, as one step of a byte pattern matches them.</summary>
public readonly record struct ByteSet(ulong Bits0, ulong Bits1, ulong Bits2, ulong Bits3)
{
    public static ByteSet Of(byte b) => Range(b, b);

    public static ByteSet Range(byte low, byte high)
    {
        var set = default(ByteSet);
        for (int b = low; b <= high; b++)
            set = set.With((byte)b);
        return set;
    }

    public static ByteSet Of(ReadOnlySpan<byte> bytes)
    {
        var set = default(ByteSet);
        foreach (byte b in bytes)
            set = set.With(b);
        return set;
    }

    public bool IsEmpty => (Bits0 | Bits1 | Bits2 | Bits3) == 0;

    public bool Contains(byte b) => (b >> 6) switch
    {
        0 => (Bits0 >> (b & 63) & 1) != 0,
        1 => (Bits1 >> (b & 63) & 1) != 0,
        2 => (Bits2 >> (b & 63) & 1) != 0,
        _ => (Bits3 >> (b & 63) & 1) != 0,
    };

    public ByteSet With(byte b) => (b >> 6) switch
    {
        0 => this with { Bits0 = Bits0 | 1UL << (b & 63) },
        1 => this with { Bits1 = Bits1 | 1UL << (b & 63) },
        2 => this with { Bits2 = Bits2 | 1UL << (b & 63) },
        _ => this with { Bits3 = Bits3 | 1UL << (b & 63) },
    };

    public ByteSet Union(ByteSet other) => new(Bits0 | other.Bits0, Bits1 | other.Bits1, Bits2 | other.Bits2, Bits3 | other.Bits3);
    public ByteSet Except(ByteSet other) => new(Bits0 & ~other.Bits0, Bits1 & ~other.Bits1, Bits2 & ~other.Bits2, Bits3 & ~other.Bits3);

    /// <summary>The lowest byte in the set; the set must not be empty.</summary>
    public byte First()
    {
        for (int b = 0; b < 256; b++)
        {
            if (Contains((byte)b))
                return (byte)b;
        }
        throw new InvalidOperationException("The byte set is empty.");
    }
}
