using System.Globalization;
using System.Text;

namespace Edge.Runtime.Templates;

internal enum SegmentKind { Text, Output, Statement }

/// <summary>A piece of template source: literal text, an {{ expression }} or a {% statement %}.</summary>
internal sealed record Segment(SegmentKind Kind, string Text, IReadOnlyList<Token> Tokens, int Line);

internal enum TokenKind { Name, String, Integer, Float, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Text, int Line)
{
    public bool Is(string op) => Kind == TokenKind.Operator && Text == op;
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
    public override string ToString() => Kind == TokenKind.End ? "end of tag" : $"'{Text}'";
}

/// <summary>
/// Splits a template into segments and applies Jinja's whitespace control the way Hugging Face
/// configures it for chat templates: trim_blocks and lstrip_blocks on, plus the '-' markers.
/// </summary>
internal static partial class JinjaLexer
{
    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "<", ">", "="];

    public static List<Segment> Split(string source)
    {
        source = Preprocess(source);
        var raw = new List<(SegmentKind Kind, string Text, int Line, bool StripBefore, bool StripAfter)>();
        int i = 0, line = 1;
        while (i < source.Length)
        {
            int open = NextTag(source, i);
            if (open < 0)
            {
                raw.Add((SegmentKind.Text, source[i..], line, false, false));
                break;
            }
            if (open > i)
                raw.Add((SegmentKind.Text, source[i..open], line, false, false));
            line += Count(source, i, open);
            char kind = source[open + 1];
            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            int bodyStart = open + 2;
            bool stripBefore = bodyStart < source.Length && source[bodyStart] == '-';
            if (stripBefore || (bodyStart < source.Length && source[bodyStart] == '+'))
                bodyStart++;
            int end = FindClose(source, bodyStart, close, kind == '#');
            if (end < 0)
                throw new TemplateException($"Line {line}: '{source.Substring(open, 2)}' is never closed with '{close}'.");
            bool stripAfter = end > bodyStart && source[end - 1] == '-';
            string body = source[bodyStart..(stripAfter ? end - 1 : end)];
            // A comment renders nothing but still controls the whitespace around it.
            var segmentKind = kind switch { '{' => SegmentKind.Output, '%' => SegmentKind.Statement, _ => SegmentKind.Text };
            raw.Add((segmentKind, kind == '#' ? "" : body, line, stripBefore, stripAfter));
            line += Count(source, open, end + 2);
            i = end + 2;
        }

        var texts = raw.Select(r => r.Text).ToArray();
        for (int k = 0; k < raw.Count; k++)
        {
            if (raw[k].StripBefore && k > 0 && raw[k - 1].Kind == SegmentKind.Text)
                texts[k - 1] = texts[k - 1].TrimEnd();
            if (raw[k].StripAfter && k + 1 < raw.Count && raw[k + 1].Kind == SegmentKind.Text)
                texts[k + 1] = texts[k + 1].TrimStart();
        }

        var segments = new List<Segment>(raw.Count);
        for (int k = 0; k < raw.Count; k++)
        {
            var r = raw[k];
            if (r.Kind == SegmentKind.Text)
            {
                if (texts[k].Length > 0)
                    segments.Add(new Segment(SegmentKind.Text, texts[k], [], r.Line));
            }
            else
            {
                segments.Add(new Segment(r.Kind, r.Text, Tokenize(r.Text, r.Line), r.Line));
            }
        }
        return segments;
    }

    /// <summary>
    /// Hugging Face renders chat templates with keep_trailing_newline off and lstrip_blocks and
    /// trim_blocks on; this applies them to the source the way @huggingface/jinja does.
    /// </summary>
    private static string Preprocess(string source)
    {
        if (source.EndsWith('\n'))
            source = source[..^1];
        source = LineStartBeforeBlock().Replace(source, "$1");
        return NewlineAfterBlock().Replace(source, "$1");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[ \t]*(\{[#%-])", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex LineStartBeforeBlock();

    [System.Text.RegularExpressions.GeneratedRegex(@"([#%-]\})\n")]
    private static partial System.Text.RegularExpressions.Regex NewlineAfterBlock();

    private static int NextTag(string source, int from)
    {
        for (int i = from; i < source.Length - 1; i++)
        {
            if (source[i] == '{' && (source[i + 1] == '{' || source[i + 1] == '%' || source[i + 1] == '#'))
                return i;
        }
        return -1;
    }

    // The closing marker, skipping string literals inside expressions.
    private static int FindClose(string source, int from, string close, bool comment)
    {
        char quote = '\0';
        for (int i = from; i < source.Length - 1; i++)
        {
            char c = source[i];
            if (!comment && quote != '\0')
            {
                if (c == '\\')
                    i++;
                else if (c == quote)
                    quote = '\0';
                continue;
            }
            if (!comment && (c == '\'' || c == '"'))
                quote = c;
            else if (c == close[0] && source[i + 1] == close[1])
                return i;
        }
        return -1;
    }

    private static int Count(string source, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to && i < source.Length; i++)
        {
            if (source[i] == '\n')
                n++;
        }
        return n;
    }

    public static List<Token> Tokenize(string body, int line)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < body.Length)
        {
            char c = body[i];
            if (char.IsWhiteSpace(c))
            {
                if (c == '\n')
                    line++;
                i++;
            }
            else if (char.IsLetter(c) || c == '_')
            {
                int start = i;
                while (i < body.Length && (char.IsLetterOrDigit(body[i]) || body[i] == '_'))
                    i++;
                tokens.Add(new Token(TokenKind.Name, body[start..i], line));
            }
            else if (char.IsDigit(c))
            {
                int start = i;
                while (i < body.Length && char.IsDigit(body[i]))
                    i++;
                bool isFloat = i + 1 < body.Length && body[i] == '.' && char.IsDigit(body[i + 1]);
                if (isFloat)
                {
                    i++;
                    while (i < body.Length && char.IsDigit(body[i]))
                        i++;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, body[start..i], line));
            }
            else if (c == '\'' || c == '"')
            {
                var text = new StringBuilder();
                i++;
                while (i < body.Length && body[i] != c)
                {
                    if (body[i] == '\\' && i + 1 < body.Length)
                    {
                        i++;
                        if (body[i] == 'u' && i + 4 < body.Length)
                        {
                            text.Append((char)int.Parse(body.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                            i += 4;
                        }
                        else
                        {
                            text.Append(body[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var other => other });
                        }
                    }
                    else
                    {
                        text.Append(body[i]);
                    }
                    i++;
                }
                if (i >= body.Length)
                    throw new TemplateException($"Line {line}: unterminated string literal.");
                i++;
                tokens.Add(new Token(TokenKind.String, text.ToString(), line));
            }
            else
            {
                string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(body, i, o, 0, o.Length) == 0);
                if (op is null)
                    throw new TemplateException($"Line {line}: unexpected character '{c}'.");
                tokens.Add(new Token(TokenKind.Operator, op, line));
                i += op.Length;
            }
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }
}
