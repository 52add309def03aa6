using System.Globalization;

namespace Edge.Runtime.Templates;

/// <summary>
/// Parses the Jinja subset that chat templates use. Anything outside it (a statement, filter or
/// test we do not implement) is refused here, at load, with a message naming the construct.
/// </summary>
internal sealed class JinjaParser
{
    private readonly List<Segment> _segments;
    private int _segment;
    private IReadOnlyList<Token> _tokens = [];
    private int _position;

    private JinjaParser(List<Segment> segments) => _segments = segments;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Split(source));
        var body = parser.ParseBody(out string? stop);
        if (stop is not null)
            throw new TemplateException($"Line {parser._segments[parser._segment - 1].Line}: '{stop}' without a matching opening statement.");
        return body;
    }

    /// <summary>Parses until a statement this level does not own (endif, else, ...), which it returns in <paramref name="stop"/>.</summary>
    private List<Node> ParseBody(out string? stop, params string[] stops)
    {
        var nodes = new List<Node>();
        while (_segment < _segments.Count)
        {
            var segment = _segments[_segment++];
            switch (segment.Kind)
            {
                case SegmentKind.Text:
                    nodes.Add(new TextNode(segment.Text, segment.Line));
                    break;
                case SegmentKind.Output:
                    Begin(segment);
                    nodes.Add(new OutputNode(ParseExpression(), segment.Line));
                    ExpectEnd();
                    break;
                default:
                    Begin(segment);
                    string keyword = Peek.Kind == TokenKind.Name ? Peek.Text : "";
                    if (stops.Contains(keyword) || keyword.StartsWith("end", StringComparison.Ordinal) || keyword is "elif" or "else")
                    {
                        if (!stops.Contains(keyword))
                            throw new TemplateException($"Line {segment.Line}: unexpected '{keyword}'{(stops.Length > 0 ? $" (expected {string.Join(" or ", stops)})" : "")}.");
                        Next();
                        stop = keyword;
                        return nodes;
                    }
                    nodes.Add(ParseStatement(keyword, segment.Line));
                    break;
            }
        }
        if (stops.Length > 0)
            throw new TemplateException($"The template ends before {string.Join(" or ", stops)}.");
        stop = null;
        return nodes;
    }

    private Node ParseStatement(string keyword, int line)
    {
        Next();
        switch (keyword)
        {
            case "if":
                return ParseIf(line);
            case "for":
                return ParseFor(line);
            case "set":
                return ParseSet(line);
            case "break" or "continue":
                ExpectEnd();
                return new LoopControlNode(keyword == "break", line);
            default:
                throw new TemplateException($"Line {line}: the '{keyword}' statement is not supported by this chat template engine.");
        }
    }

    private IfNode ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        var condition = ParseExpression();
        ExpectEnd();
        while (true)
        {
            var body = ParseBody(out string? stop, "elif", "else", "endif");
            branches.Add((condition, body));
            if (stop == "elif")
            {
                condition = ParseExpression();
                ExpectEnd();
                continue;
            }
            if (stop == "else")
            {
                ExpectEnd();
                var elseBody = ParseBody(out _, "endif");
                ExpectEnd();
                return new IfNode(branches, elseBody, line);
            }
            ExpectEnd();
            return new IfNode(branches, null, line);
        }
    }

    private ForNode ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (Peek.Is(","))
        {
            Next();
            targets.Add(ExpectName());
        }
        if (!Next().IsName("in"))
            throw new TemplateException($"Line {line}: expected 'in' in the for statement.");
        var iterable = ParseConditional(allowConditional: false);
        Expr? filter = null;
        if (Peek.IsName("if"))
        {
            Next();
            filter = ParseExpression();
        }
        if (Peek.IsName("recursive"))
            throw new TemplateException($"Line {line}: recursive for loops are not supported.");
        ExpectEnd();
        var body = ParseBody(out string? stop, "else", "endfor");
        List<Node>? elseBody = null;
        if (stop == "else")
        {
            ExpectEnd();
            elseBody = ParseBody(out _, "endfor");
        }
        ExpectEnd();
        return new ForNode(targets, iterable, filter, body, elseBody, line);
    }

    private SetNode ParseSet(int line)
    {
        string name = ExpectName();
        string? attribute = null;
        if (Peek.Is("."))
        {
            Next();
            attribute = ExpectName();
        }
        if (Peek.Is(","))
            throw new TemplateException($"Line {line}: setting several variables at once is not supported.");
        if (Peek.Kind == TokenKind.End)
        {
            // {% set x %}...{% endset %}
            ExpectEnd();
            var body = ParseBody(out _, "endset");
            ExpectEnd();
            return new SetNode(name, attribute, null, body, line);
        }
        Expect("=");
        var value = ParseExpression();
        ExpectEnd();
        return new SetNode(name, attribute, value, null, line);
    }

    // ---- expressions, lowest precedence first ----

    private Expr ParseExpression() => ParseConditional(allowConditional: true);

    private Expr ParseConditional(bool allowConditional)
    {
        var value = ParseOr();
        while (allowConditional && Peek.IsName("if"))
        {
            int line = Next().Line;
            var condition = ParseOr();
            Expr? otherwise = null;
            if (Peek.IsName("else"))
            {
                Next();
                otherwise = ParseConditional(allowConditional: true);
            }
            value = new ConditionalExpr(condition, value, otherwise, line);
        }
        return value;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Peek.IsName("or"))
        {
            int line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Peek.IsName("and"))
        {
            int line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (Peek.IsName("not"))
        {
            int line = Next().Line;
            return new UnaryExpr("not", ParseNot(), line);
        }
        return ParseComparison();
    }

    private Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            var token = Peek;
            if (token.Kind == TokenKind.Operator && token.Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                Next();
                left = new BinaryExpr(token.Text, left, ParseAdditive(), token.Line);
            }
            else if (token.IsName("in"))
            {
                Next();
                left = new BinaryExpr("in", left, ParseAdditive(), token.Line);
            }
            else if (token.IsName("not") && PeekAt(1).IsName("in"))
            {
                Next();
                Next();
                left = new BinaryExpr("not in", left, ParseAdditive(), token.Line);
            }
            else if (token.IsName("is"))
            {
                Next();
                bool negated = false;
                if (Peek.IsName("not"))
                {
                    Next();
                    negated = true;
                }
                var nameToken = Next();
                string name = nameToken.Kind switch
                {
                    TokenKind.Name => nameToken.Text,
                    TokenKind.Operator when nameToken.Text is "==" or "!=" or "<" or ">" or "<=" or ">=" => nameToken.Text,
                    _ => throw new TemplateException($"Line {token.Line}: expected a test name after 'is', found {nameToken}."),
                };
                if (!JinjaBuiltins.Tests.Contains(name))
                    throw new TemplateException($"Line {token.Line}: the test '{name}' is not supported by this chat template engine.");
                var arguments = new List<Expr>();
                if (Peek.Is("("))
                {
                    arguments.AddRange(ParseArguments(out var keywords));
                    if (keywords.Count > 0)
                        throw new TemplateException($"Line {token.Line}: tests take no keyword arguments.");
                }
                else if (Peek.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float || (Peek.Kind == TokenKind.Name && !IsKeyword(Peek.Text)))
                {
                    arguments.Add(ParsePrimaryWithPostfix());
                }
                left = new TestExpr(left, name, arguments, negated, token.Line);
            }
            else
            {
                return left;
            }
        }
    }

    private Expr ParseAdditive()
    {
        var left = ParseConcat();
        while (Peek.Kind == TokenKind.Operator && Peek.Text is "+" or "-")
        {
            var op = Next();
            left = new BinaryExpr(op.Text, left, ParseConcat(), op.Line);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMultiplicative();
        while (Peek.Is("~"))
        {
            var op = Next();
            left = new BinaryExpr("~", left, ParseMultiplicative(), op.Line);
        }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Peek.Kind == TokenKind.Operator && Peek.Text is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Text, left, ParsePower(), op.Line);
        }
        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseUnary();
        while (Peek.Is("**"))
        {
            var op = Next();
            left = new BinaryExpr("**", left, ParseUnary(), op.Line);
        }
        return left;
    }

    private Expr ParseUnary()
    {
        if (Peek.Kind == TokenKind.Operator && Peek.Text is "-" or "+")
        {
            var op = Next();
            return new UnaryExpr(op.Text, ParseUnary(), op.Line);
        }
        return ParseFilters(ParsePrimaryWithPostfix());
    }

    private Expr ParseFilters(Expr value)
    {
        while (Peek.Is("|"))
        {
            int line = Next().Line;
            string name = ExpectName();
            if (!JinjaBuiltins.Filters.Contains(name))
                throw new TemplateException($"Line {line}: the filter '{name}' is not supported by this chat template engine.");
            IReadOnlyList<Expr> arguments = [];
            IReadOnlyList<(string, Expr)> keywords = [];
            if (Peek.Is("("))
            {
                arguments = ParseArguments(out var named);
                keywords = named;
            }
            value = new FilterExpr(value, name, arguments, keywords, line);
        }
        return value;
    }

    private Expr ParsePrimaryWithPostfix()
    {
        var value = ParsePrimary();
        while (true)
        {
            if (Peek.Is("."))
            {
                int line = Next().Line;
                var name = Next();
                if (name.Kind is not (TokenKind.Name or TokenKind.Integer))
                    throw new TemplateException($"Line {line}: expected an attribute name after '.', found {name}.");
                value = name.Kind == TokenKind.Integer
                    ? new IndexExpr(value, new LiteralExpr(long.Parse(name.Text, CultureInfo.InvariantCulture), line), line)
                    : new AttributeExpr(value, name.Text, line);
            }
            else if (Peek.Is("["))
            {
                int line = Next().Line;
                value = ParseSubscript(value, line);
            }
            else if (Peek.Is("("))
            {
                int line = Peek.Line;
                var arguments = ParseArguments(out var keywords);
                value = new CallExpr(value, arguments, keywords, line);
            }
            else
            {
                return value;
            }
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr? start = null, stop = null, step = null;
        bool isSlice = false;
        if (!Peek.Is(":"))
            start = ParseExpression();
        if (Peek.Is(":"))
        {
            isSlice = true;
            Next();
            if (!Peek.Is(":") && !Peek.Is("]"))
                stop = ParseExpression();
            if (Peek.Is(":"))
            {
                Next();
                if (!Peek.Is("]"))
                    step = ParseExpression();
            }
        }
        Expect("]");
        return isSlice ? new SliceExpr(target, start, stop, step, line) : new IndexExpr(target, start!, line);
    }

    private List<Expr> ParseArguments(out List<(string, Expr)> keywords)
    {
        Expect("(");
        var arguments = new List<Expr>();
        keywords = [];
        while (!Peek.Is(")"))
        {
            if (Peek.Kind == TokenKind.Name && PeekAt(1).Is("="))
            {
                string name = Next().Text;
                Next();
                keywords.Add((name, ParseExpression()));
            }
            else
            {
                arguments.Add(ParseExpression());
            }
            if (!Peek.Is(","))
                break;
            Next();
        }
        Expect(")");
        return arguments;
    }

    private Expr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.String:
                // Adjacent string literals concatenate, as in Python.
                string text = token.Text;
                while (Peek.Kind == TokenKind.String)
                    text += Next().Text;
                return new LiteralExpr(text, token.Line);
            case TokenKind.Integer:
                return new LiteralExpr(long.Parse(token.Text, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Text, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Name:
                return token.Text switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Text, token.Line),
                };
            case TokenKind.Operator when token.Text == "(":
            {
                if (Peek.Is(")"))
                {
                    Next();
                    return new ListExpr([], token.Line);
                }
                var first = ParseExpression();
                if (!Peek.Is(","))
                {
                    Expect(")");
                    return first;
                }
                var items = new List<Expr> { first };
                while (Peek.Is(","))
                {
                    Next();
                    if (Peek.Is(")"))
                        break;
                    items.Add(ParseExpression());
                }
                Expect(")");
                return new ListExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Text == "[":
            {
                var items = new List<Expr>();
                while (!Peek.Is("]"))
                {
                    items.Add(ParseExpression());
                    if (!Peek.Is(","))
                        break;
                    Next();
                }
                Expect("]");
                return new ListExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Text == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!Peek.Is("}"))
                {
                    var key = ParseExpression();
                    Expect(":");
                    items.Add((key, ParseExpression()));
                    if (!Peek.Is(","))
                        break;
                    Next();
                }
                Expect("}");
                return new DictExpr(items, token.Line);
            }
            default:
                throw new TemplateException($"Line {token.Line}: unexpected {token} in an expression.");
        }
    }

    private static bool IsKeyword(string name) => name is "and" or "or" or "not" or "in" or "is" or "if" or "else";

    // ---- token plumbing ----

    private void Begin(Segment segment)
    {
        _tokens = segment.Tokens;
        _position = 0;
    }

    private Token Peek => _tokens[_position];

    private Token PeekAt(int offset) => _tokens[Math.Min(_position + offset, _tokens.Count - 1)];

    private Token Next()
    {
        var token = _tokens[_position];
        if (token.Kind != TokenKind.End)
            _position++;
        return token;
    }

    private void Expect(string op)
    {
        var token = Next();
        if (!token.Is(op))
            throw new TemplateException($"Line {token.Line}: expected '{op}', found {token}.");
    }

    private string ExpectName()
    {
        var token = Next();
        if (token.Kind != TokenKind.Name)
            throw new TemplateException($"Line {token.Line}: expected a name, found {token}.");
        return token.Text;
    }

    private void ExpectEnd()
    {
        var token = Peek;
        if (token.Kind != TokenKind.End)
            throw new TemplateException($"Line {token.Line}: unexpected {token}; expected the end of the tag.");
    }
}
