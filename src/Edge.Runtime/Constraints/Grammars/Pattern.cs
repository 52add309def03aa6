using System.Text;

namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// A regular language over UTF-8 bytes, as a tree: what regexes and JSON schemas compile to before
/// they become an automaton (<see cref="ByteNfa"/>). Repeats stay counted here and are unrolled
/// only by the automaton, which bounds the total size.
/// </summary>
public abstract record Pattern
{
    public static readonly Pattern Nothing = new Sequence([]);

    public static Pattern Bytes(ByteSet set) => new OneByte(set);

    /// <summary>Exactly this text, as UTF-8.</summary>
    public static Pattern Literal(string text) => new Sequence([.. Encoding.UTF8.GetBytes(text).Select(b => Bytes(ByteSet.Of(b)))]);

    public static Pattern Concat(params Pattern[] parts) => parts.Length == 1 ? parts[0] : new Sequence(parts);
    public static Pattern Either(params Pattern[] options) => options.Length == 1 ? options[0] : new Alternatives(options);
    public static Pattern Optional(Pattern body) => new Repetition(body, 0, 1);
    public static Pattern Any(Pattern body) => new Repetition(body, 0, null);

    /// <summary>
    /// One UTF-8 encoded character: an ASCII byte of <paramref name="ascii"/>, or any well-formed
    /// multi-byte sequence when <paramref name="nonAscii"/> (lead byte C2-F4 and its continuation
    /// bytes; overlong three- and four-byte forms are not told apart, which no tokenizer emits).
    /// </summary>
    public static Pattern Character(ByteSet ascii, bool nonAscii)
    {
        var asciiOnly = Bytes(ascii.Except(ByteSet.Range(0x80, 0xFF)));
        if (!nonAscii)
            return asciiOnly;
        var continuation = Bytes(ByteSet.Range(0x80, 0xBF));
        return Either(
            asciiOnly,
            Concat(Bytes(ByteSet.Range(0xC2, 0xDF)), continuation),
            Concat(Bytes(ByteSet.Range(0xE0, 0xEF)), continuation, continuation),
            Concat(Bytes(ByteSet.Range(0xF0, 0xF4)), continuation, continuation, continuation));
    }
}

public sealed record OneByte(ByteSet Set) : Pattern;
public sealed record Sequence(IReadOnlyList<Pattern> Parts) : Pattern;
public sealed record Alternatives(IReadOnlyList<Pattern> Options) : Pattern;

/// <summary>
/// Some of <paramref name="Items"/>, in their order, <paramref name="Separator"/> between each two
/// present; the required ones always present (an object's properties). Its automaton shares each
/// tail instead of spelling out every subset, so optional items cost linear size, not exponential.
/// </summary>
public sealed record Members(IReadOnlyList<(Pattern Item, bool Required)> Items, Pattern Separator) : Pattern;

/// <summary><paramref name="Min"/> to <paramref name="Max"/> (null: no limit) items with <paramref name="Separator"/> between each two (an array's elements).</summary>
public sealed record SeparatedList(Pattern Item, Pattern Separator, int Min, int? Max) : Pattern;

/// <summary><paramref name="Body"/> <paramref name="Min"/> to <paramref name="Max"/> times; no upper bound when Max is null.</summary>
public sealed record Repetition(Pattern Body, int Min, int? Max) : Pattern;
