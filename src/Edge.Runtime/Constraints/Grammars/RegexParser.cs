using System.Globalization;
using System.Text;

namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// A regular expression (the common subset of Python's re, JavaScript and .NET that guided_regex
/// and JSON schema patterns use) as a byte <see cref="Pattern"/>: literals, '.', classes with ranges
/// and negation, \d \w \s and their negations, escapes (\n \t \xHH \uHHHH), groups (capturing,
/// non-capturing, named), alternation, and the quantifiers * + ? {n} {n,} {n,m} (lazy forms match
/// the same language). The match is always whole: ^ and $ are accepted only at the ends. What
/// a regular language over bytes cannot express (backreferences, lookaround, word boundaries) and
/// what this parser does not take (possessive quantifiers, flags) is refused by name.
/// </summary>
public sealed class RegexParser
{
    public const int MaxLength = 4096;
    private const int MaxNesting = 64;
    private const int MaxCount = 10_000;
    private const int MaxEnumeratedRange = 1024;

    private readonly string _text;
    private readonly bool _inJsonString;
    private int _at;
    private int _nesting;

    private RegexParser(string text, bool inJsonString)
    {
        _text = text;
        _inJsonString = inJsonString;
    }

    /// <summary>The pattern, and whether it was anchored at its start (^) and end ($).</summary>
    /// <param name="inJsonString">
    /// The text is a JSON string's content, written without escapes: characters that would need
    /// one (the quote, the backslash, control characters) are never generated, and a pattern that
    /// requires one is refused.
    /// </param>
    public static (Pattern Pattern, bool AnchoredStart, bool AnchoredEnd) Parse(string regex, bool inJsonString = false)
    {
        if (regex.Length > MaxLength)
            throw new GrammarException($"The regex is {regex.Length} characters long; at most {MaxLength} are accepted.");
        var parser = new RegexParser(regex, inJsonString);
        bool start = parser.Eat('^');
        var pattern = parser.Alternation();
        bool end = false;
        if (parser._at < regex.Length && regex[parser._at] == '$' && parser._at == regex.Length - 1)
        {
            end = true;
            parser._at++;
        }
        if (parser._at < regex.Length)
            throw parser.Error(regex[parser._at] == ')' ? "an unmatched ')'" : $"'{regex[parser._at]}' here is not supported");
        return (pattern, start, end);
    }

    private GrammarException Error(string what) => new($"Regex {Quote()} at position {_at}: {what}.");

    private string Quote() => _text.Length <= 80 ? $"'{_text}'" : $"'{_text[..77]}...'";

    private bool Eat(char c)
    {
        if (_at < _text.Length && _text[_at] == c)
        {
            _at++;
            return true;
        }
        return false;
    }

    private bool AtEndOfBranch => _at >= _text.Length || _text[_at] == '|' || _text[_at] == ')' || (_text[_at] == '$' && _at == _text.Length - 1);

    private Pattern Alternation()
    {
        var options = new List<Pattern> { Branch() };
        while (Eat('|'))
            options.Add(Branch());
        return Pattern.Either([.. options]);
    }

    private Pattern Branch()
    {
        var parts = new List<Pattern>();
        while (!AtEndOfBranch)
            parts.Add(Quantified(Atom()));
        return parts.Count == 1 ? parts[0] : new Sequence(parts);
    }

    private Pattern Quantified(Pattern atom)
    {
        while (_at < _text.Length)
        {
            int min, max;
            char c = _text[_at];
            if (c == '*') { min = 0; max = -1; _at++; }
            else if (c == '+') { min = 1; max = -1; _at++; }
            else if (c == '?') { min = 0; max = 1; _at++; }
            else if (c == '{' && TryCount(out min, out max)) { }
            else return atom;
            if (Eat('+'))
                throw Error("possessive quantifiers are not supported");
            Eat('?'); // lazy: the same language
            atom = new Repetition(atom, min, max < 0 ? null : max);
        }
        return atom;
    }

    /// <summary>{n}, {n,} or {n,m} at the cursor; a '{' that starts none of them is a literal, as in Python.</summary>
    private bool TryCount(out int min, out int max)
    {
        min = max = 0;
        int close = _text.IndexOf('}', _at);
        if (close < 0)
            return false;
        string body = _text[(_at + 1)..close];
        string[] parts = body.Split(',');
        if (parts.Length > 2 || parts[0].Length == 0 || !parts.All(p => p.All(char.IsAsciiDigit)))
            return false;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out min) || min > MaxCount)
            throw Error($"a count above {MaxCount} is not supported");
        max = min;
        if (parts.Length == 2)
        {
            if (parts[1].Length == 0)
                max = -1;
            else if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out max) || max > MaxCount)
                throw Error($"a count above {MaxCount} is not supported");
            else if (max < min)
                throw Error($"the count {{{body}}} is not a range");
        }
        _at = close + 1;
        return true;
    }

    private Pattern Atom()
    {
        char c = _text[_at];
        switch (c)
        {
            case '(':
                return Group();
            case '[':
                return Class();
            case '.':
                _at++;
                return Characters(Ascii.Except(ByteSet.Of((byte)'\n')), nonAscii: true);
            case '\\':
                return Escape();
            case '^':
            case '$':
                throw Error($"'{c}' is supported only at the very start and end (the whole output always matches)");
            case '*' or '+' or '?':
                throw Error($"'{c}' has nothing to repeat");
            default:
                return Literal(NextCodePoint());
        }
    }

    private Pattern Group()
    {
        _at++;
        if (Eat('?'))
        {
            if (Eat(':')) { }
            else if (_at < _text.Length && (_text[_at] == '<' || _text[_at] == 'P') && !Peek("<=") && !Peek("<!"))
            {
                int close = _text.IndexOf('>', _at);
                if (close < 0)
                    throw Error("a group name is not closed");
                _at = close + 1;
            }
            else if (Peek("=") || Peek("!") || Peek("<=") || Peek("<!"))
                throw Error("lookaround is not supported (it cannot be enforced token by token)");
            else
                throw Error("inline flags and other (? groups are not supported");
        }
        if (++_nesting > MaxNesting)
            throw Error($"groups nest deeper than {MaxNesting}");
        var body = Alternation();
        _nesting--;
        if (!Eat(')'))
            throw Error("a '(' is not closed");
        return body;
    }

    private bool Peek(string text) => string.CompareOrdinal(_text, _at, text, 0, text.Length) == 0;

    private Pattern Escape()
    {
        _at++;
        if (_at >= _text.Length)
            throw Error("the regex ends in a lone backslash");
        char c = _text[_at++];
        switch (c)
        {
            case 'd': return Characters(Digits, nonAscii: false);
            case 'D': return Characters(Ascii.Except(Digits), nonAscii: true);
            case 'w': return Characters(Word, nonAscii: false);
            case 'W': return Characters(Ascii.Except(Word), nonAscii: true);
            case 's': return Characters(Space, nonAscii: false);
            case 'S': return Characters(Ascii.Except(Space), nonAscii: true);
            case 'b' or 'B':
                throw Error($"the word boundary \\{c} is not supported");
            case >= '1' and <= '9':
                throw Error("backreferences are not supported (they are not a regular language)");
            default:
                _at--;
                return Literal(EscapedCodePoint());
        }
    }

    /// <summary>The code point of an escape other than a class (\n, \x41, \u00e9, \.), the backslash already read.</summary>
    private int EscapedCodePoint()
    {
        char c = _text[_at++];
        return c switch
        {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\f',
            'v' => '\v',
            '0' => '\0',
            'x' => Hex(2),
            'u' => Hex(4),
            _ when char.IsAsciiLetterOrDigit(c) => throw Error($"the escape \\{c} is not supported"),
            _ => char.IsHighSurrogate(c) && _at < _text.Length ? char.ConvertToUtf32(c, _text[_at++]) : c,
        };
    }

    private int Hex(int digits)
    {
        if (_at + digits > _text.Length || !int.TryParse(_text.AsSpan(_at, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
            throw Error($"an escape needs {digits} hex digits");
        _at += digits;
        return value;
    }

    private int NextCodePoint()
    {
        char c = _text[_at++];
        if (char.IsHighSurrogate(c) && _at < _text.Length && char.IsLowSurrogate(_text[_at]))
            return char.ConvertToUtf32(c, _text[_at++]);
        return c;
    }

    private Pattern Class()
    {
        _at++;
        bool negated = Eat('^');
        var ascii = default(ByteSet);
        var others = new List<int>();
        bool first = true;
        while (true)
        {
            if (_at >= _text.Length)
                throw Error("a '[' is not closed");
            if (_text[_at] == ']' && !first)
            {
                _at++;
                break;
            }
            first = false;
            if (_text[_at] == '\\' && _at + 1 < _text.Length && "dDwWsS".Contains(_text[_at + 1]))
            {
                char kind = _text[_at + 1];
                _at += 2;
                if (char.IsUpper(kind))
                    throw Error($"\\{kind} inside a class is not supported");
                ascii = ascii.Union(kind == 'd' ? Digits : kind == 'w' ? Word : Space);
                continue;
            }
            int low = ClassCodePoint();
            int high = low;
            if (_at + 1 < _text.Length && _text[_at] == '-' && _text[_at + 1] != ']')
            {
                _at++;
                high = ClassCodePoint();
                if (high < low)
                    throw Error("a class range runs backwards");
            }
            for (int cp = low; cp <= Math.Min(high, 0x7F); cp++)
                ascii = ascii.With((byte)cp);
            if (high > 0x7F)
            {
                if (high - Math.Max(low, 0x80) >= MaxEnumeratedRange)
                    throw Error($"a non-ASCII class range wider than {MaxEnumeratedRange} characters is not supported");
                for (int cp = Math.Max(low, 0x80); cp <= high; cp++)
                    others.Add(cp);
            }
        }
        if (negated)
        {
            if (others.Count > 0)
                throw Error("a negated class listing non-ASCII characters is not supported");
            return Characters(Ascii.Except(ascii), nonAscii: true);
        }
        var options = new List<Pattern>();
        if (!ascii.IsEmpty)
            options.Add(Characters(ascii, nonAscii: false));
        options.AddRange(others.Where(cp => cp is < 0xD800 or > 0xDFFF).Select(Literal));
        if (options.Count == 0)
            throw Error("an empty class matches nothing");
        return Pattern.Either([.. options]);
    }

    private int ClassCodePoint()
    {
        if (_text[_at] != '\\')
            return NextCodePoint();
        _at++;
        if (_at >= _text.Length)
            throw Error("the regex ends in a lone backslash");
        return _text[_at] == 'b' ? Skip('\b') : EscapedCodePoint();
    }

    private int Skip(char value)
    {
        _at++;
        return value;
    }

    private static readonly ByteSet Ascii = ByteSet.Range(0, 0x7F);
    private static readonly ByteSet Digits = ByteSet.Range((byte)'0', (byte)'9');
    private static readonly ByteSet Word = Digits.Union(ByteSet.Range((byte)'a', (byte)'z')).Union(ByteSet.Range((byte)'A', (byte)'Z')).With((byte)'_');
    private static readonly ByteSet Space = ByteSet.Of(" \t\n\r\f\v"u8);

    /// <summary>Bytes a JSON string holds as themselves: not the quote, the backslash or a control character.</summary>
    public static readonly ByteSet JsonStringAscii = Ascii.Except(ByteSet.Range(0, 0x1F)).Except(ByteSet.Of("\"\\"u8));

    private Pattern Characters(ByteSet ascii, bool nonAscii) =>
        Pattern.Character(_inJsonString ? ascii.Except(Ascii.Except(JsonStringAscii)) : ascii, nonAscii);

    private Pattern Literal(int codePoint)
    {
        if (_inJsonString && codePoint < 0x80 && !JsonStringAscii.Contains((byte)codePoint))
            throw Error($"a pattern that requires the character U+{codePoint:X4} (escaped in JSON) is not supported");
        if (codePoint is >= 0xD800 and <= 0xDFFF)
            throw Error("a lone surrogate is not a character");
        return Pattern.Literal(char.ConvertFromUtf32(codePoint));
    }
}
