namespace Edge.Runtime.Constraints;

/// <summary>
/// Where a JSON document (RFC 8259) stands after the bytes fed so far: a pushdown automaton over
/// UTF-8 bytes whose stack (object or array per level, up to <see cref="MaxDepth"/>) is packed
/// into one integer, so that a state is a small value that copies for free and can key a cache.
/// The document must be an object (OpenAI's json_object); it is complete when that object closes,
/// and no byte is accepted after it. Whitespace between tokens is capped at
/// <see cref="MaxWhitespace"/> bytes in a row, so a model cannot pad forever.
/// </summary>
public readonly record struct JsonState
{
    public const int MaxDepth = 32;
    public const int MaxWhitespace = 24;

    private enum Mode : byte
    {
        Start,          // before the top-level object
        KeyOrClose,     // after '{'
        Key,            // after ',' in an object
        Colon,          // after a key
        Value,          // after ':' or ',' in an array
        ValueOrClose,   // after '['
        AfterValue,     // ',' or the container's close
        String,         // inside a string; Sub: 0 plain, 1 after '\', 2..5 hex digits still due (+1)
        Number,         // Sub: a NumberPart
        Literal,        // Sub: literal index * 8 + bytes matched
        Done,
    }

    private enum NumberPart : byte { Minus, Zero, Integer, Dot, Fraction, Exponent, ExponentSign, ExponentDigits }

    private static readonly byte[][] Literals = ["true"u8.ToArray(), "false"u8.ToArray(), "null"u8.ToArray()];

    private Mode Current { get; init; }
    private byte Sub { get; init; }
    private byte Depth { get; init; }
    private uint Stack { get; init; }      // bit i set: level i is an object
    private byte Whitespace { get; init; }
    private bool InKey { get; init; }

    public bool IsComplete => Current == Mode.Done;

    /// <summary>The state after <paramref name="b"/>, or null when no JSON object continues that way.</summary>
    public JsonState? Step(byte b)
    {
        switch (Current)
        {
            case Mode.String:
                return StringByte(b);
            case Mode.Number:
                return NumberByte(b);
            case Mode.Literal:
                return LiteralByte(b);
            case Mode.Done:
                return null;
        }
        if (b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            return Whitespace >= MaxWhitespace ? null : this with { Whitespace = (byte)(Whitespace + 1) };
        var next = this with { Whitespace = 0 };
        return Current switch
        {
            Mode.Start => b == '{' ? next.Open(isObject: true) : null,
            Mode.KeyOrClose => b == '"' ? next.BeginString(key: true) : b == '}' ? next.Close(isObject: true) : null,
            Mode.Key => b == '"' ? next.BeginString(key: true) : null,
            Mode.Colon => b == ':' ? next with { Current = Mode.Value } : null,
            Mode.Value => next.BeginValue(b),
            Mode.ValueOrClose => b == ']' ? next.Close(isObject: false) : next.BeginValue(b),
            Mode.AfterValue => next.AfterValueByte(b),
            _ => null,
        };
    }

    /// <summary>
    /// The shortest bytes that complete the document from here: the open string, number or literal
    /// finished (a key given a null value, a missing value null), then every open container closed.
    /// </summary>
    public byte[] Completion()
    {
        var bytes = new List<byte>();
        void Add(string text) => bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(text));
        switch (Current)
        {
            case Mode.Done:
                return [];
            case Mode.Start:
                return "{}"u8.ToArray();
            case Mode.Key:
                Add("\"\":null");
                break;
            case Mode.Colon:
                Add(":null");
                break;
            case Mode.Value:
                Add("null");
                break;
            case Mode.String:
                Add(Sub == 1 ? "n" : Sub >= 2 ? new string('0', Sub - 1) : "");
                Add(InKey ? "\":null" : "\"");
                break;
            case Mode.Number:
                if ((NumberPart)Sub is NumberPart.Minus or NumberPart.Dot or NumberPart.Exponent or NumberPart.ExponentSign)
                    Add("0");
                break;
            case Mode.Literal:
                bytes.AddRange(Literals[Sub / 8].AsSpan(Sub % 8).ToArray());
                break;
        }
        for (int level = Depth - 1; level >= 0; level--)
            bytes.Add((Stack >> level & 1) == 1 ? (byte)'}' : (byte)']');
        return [.. bytes];
    }

    /// <summary><see cref="Completion"/>'s length, without building it.</summary>
    public int CompletionLength => Depth + Current switch
    {
        Mode.Done => 0,
        Mode.Start => 2,
        Mode.Key => 7,
        Mode.Colon => 5,
        Mode.Value => 4,
        Mode.String => (Sub == 1 ? 1 : Sub >= 2 ? Sub - 1 : 0) + (InKey ? 6 : 1),
        Mode.Number => (NumberPart)Sub is NumberPart.Minus or NumberPart.Dot or NumberPart.Exponent or NumberPart.ExponentSign ? 1 : 0,
        Mode.Literal => Literals[Sub / 8].Length - Sub % 8,
        _ => 0,
    };

    private bool TopIsObject => (Stack >> (Depth - 1) & 1) == 1;

    private JsonState? Open(bool isObject)
    {
        if (Depth >= MaxDepth)
            return null;
        return this with
        {
            Current = isObject ? Mode.KeyOrClose : Mode.ValueOrClose,
            Stack = isObject ? Stack | 1u << Depth : Stack & ~(1u << Depth),
            Depth = (byte)(Depth + 1),
        };
    }

    private JsonState? Close(bool isObject)
    {
        if (Depth == 0 || TopIsObject != isObject)
            return null;
        byte depth = (byte)(Depth - 1);
        return this with { Depth = depth, Stack = Stack & ~(1u << depth), Current = depth == 0 ? Mode.Done : Mode.AfterValue };
    }

    private JsonState BeginString(bool key) => this with { Current = Mode.String, Sub = 0, InKey = key };

    private JsonState? BeginValue(byte b) => b switch
    {
        (byte)'{' => Open(isObject: true),
        (byte)'[' => Open(isObject: false),
        (byte)'"' => BeginString(key: false),
        (byte)'-' => this with { Current = Mode.Number, Sub = (byte)NumberPart.Minus },
        (byte)'0' => this with { Current = Mode.Number, Sub = (byte)NumberPart.Zero },
        >= (byte)'1' and <= (byte)'9' => this with { Current = Mode.Number, Sub = (byte)NumberPart.Integer },
        (byte)'t' => this with { Current = Mode.Literal, Sub = 0 * 8 + 1 },
        (byte)'f' => this with { Current = Mode.Literal, Sub = 1 * 8 + 1 },
        (byte)'n' => this with { Current = Mode.Literal, Sub = 2 * 8 + 1 },
        _ => null,
    };

    private JsonState? AfterValueByte(byte b)
    {
        if (b == ',')
            return this with { Current = TopIsObject ? Mode.Key : Mode.Value };
        if (b == '}' || b == ']')
            return Close(isObject: b == '}');
        return null;
    }

    private JsonState? StringByte(byte b)
    {
        switch (Sub)
        {
            case 0:
                if (b == '"')
                    return this with { Current = InKey ? Mode.Colon : Mode.AfterValue, Sub = 0 };
                if (b == '\\')
                    return this with { Sub = 1 };
                // Control characters must be escaped; every other byte (UTF-8 included) stands for itself.
                return b < 0x20 ? null : this;
            case 1:
                if (b == 'u')
                    return this with { Sub = 5 };
                return b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' ? this with { Sub = 0 } : null;
            default:
                return char.IsAsciiHexDigit((char)b) ? this with { Sub = (byte)(Sub == 2 ? 0 : Sub - 1) } : null;
        }
    }

    private JsonState? NumberByte(byte b)
    {
        var part = (NumberPart)Sub;
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        NumberPart? next = part switch
        {
            NumberPart.Minus => b == '0' ? NumberPart.Zero : digit ? NumberPart.Integer : null,
            NumberPart.Zero => b == '.' ? NumberPart.Dot : b is (byte)'e' or (byte)'E' ? NumberPart.Exponent : null,
            NumberPart.Integer => digit ? NumberPart.Integer : b == '.' ? NumberPart.Dot : b is (byte)'e' or (byte)'E' ? NumberPart.Exponent : null,
            NumberPart.Dot => digit ? NumberPart.Fraction : null,
            NumberPart.Fraction => digit ? NumberPart.Fraction : b is (byte)'e' or (byte)'E' ? NumberPart.Exponent : null,
            NumberPart.Exponent => b is (byte)'+' or (byte)'-' ? NumberPart.ExponentSign : digit ? NumberPart.ExponentDigits : null,
            NumberPart.ExponentSign or NumberPart.ExponentDigits => digit ? NumberPart.ExponentDigits : null,
            _ => null,
        };
        if (next is { } continued)
            return this with { Sub = (byte)continued };
        // A number ends at the first byte that cannot continue it, if it is whole by then; that byte then follows the value.
        bool whole = part is NumberPart.Zero or NumberPart.Integer or NumberPart.Fraction or NumberPart.ExponentDigits;
        return whole ? (this with { Current = Mode.AfterValue, Sub = 0 }).Step(b) : null;
    }

    private JsonState? LiteralByte(byte b)
    {
        var literal = Literals[Sub / 8];
        int matched = Sub % 8;
        if (literal[matched] != b)
            return null;
        return matched + 1 == literal.Length ? this with { Current = Mode.AfterValue, Sub = 0 } : this with { Sub = (byte)(Sub + 1) };
    }
}
