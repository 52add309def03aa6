using System.Globalization;
using System.Text;

namespace Edge.Runtime.Templates;

/// <summary>Operators, filters, tests, globals and methods of the supported Jinja subset.</summary>
internal static class JinjaBuiltins
{
    public static readonly HashSet<string> Filters =
    [
        "length", "count", "trim", "tojson", "upper", "lower", "title", "capitalize", "join", "default", "d", "first", "last",
        "list", "string", "int", "float", "abs", "round", "replace", "items", "reverse", "safe", "indent", "map", "select",
        "reject", "selectattr", "rejectattr", "unique", "sort", "dictsort", "wordcount", "min", "max", "sum",
    ];

    public static readonly HashSet<string> Tests =
    [
        "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false", "mapping",
        "iterable", "sequence", "callable", "equalto", "eq", "==", "ne", "!=", "odd", "even", "divisibleby", "in", "lower", "upper",
        "gt", ">", "ge", ">=", "lt", "<", "le", "<=",
    ];

    public static readonly IReadOnlyDictionary<string, Callable> Globals = new Dictionary<string, Callable>
    {
        ["raise_exception"] = new("raise_exception", (args, _) =>
            throw new TemplateException(args.Count > 0 ? JinjaValues.ToOutput(args[0]) : "raise_exception() was called.")),
        ["namespace"] = new("namespace", (args, keywords) =>
        {
            var ns = new Namespace();
            if (args.Count > 0 && args[0] is Dictionary<string, object?> initial)
            {
                foreach (var (k, v) in initial)
                    ns.Attributes[k] = v;
            }
            foreach (var (k, v) in keywords)
                ns.Attributes[k] = v;
            return ns;
        }),
        ["range"] = new("range", (args, _) =>
        {
            long start = 0, stop, step = 1;
            if (args.Count == 1)
                stop = AsLong(args[0], "range");
            else
            {
                start = AsLong(args[0], "range");
                stop = AsLong(args[1], "range");
                if (args.Count > 2)
                    step = AsLong(args[2], "range");
            }
            if (step == 0)
                throw new TemplateException("range() step must not be zero.");
            var values = new List<object?>();
            for (long v = start; step > 0 ? v < stop : v > stop; v += step)
                values.Add(v);
            return values;
        }),
        ["dict"] = new("dict", (_, keywords) => new Dictionary<string, object?>(keywords)),
    };

    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Dictionary<string, object?> dict:
                if (dict.TryGetValue(name, out var value))
                    return value;
                return DictMethod(dict, name) ?? (object)Undefined.Instance;
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var attribute) ? attribute : Undefined.Instance;
            case string s:
                return StringMethod(s, name) ?? (object)Undefined.Instance;
            case List<object?> list:
                return ListMethod(list, name) ?? (object)Undefined.Instance;
            default:
                return Undefined.Instance;
        }
    }

    public static object? GetItem(object? target, object? index, int line)
    {
        switch (target, index)
        {
            case (Dictionary<string, object?> dict, string key):
                return dict.TryGetValue(key, out var value) ? value : Undefined.Instance;
            case (Dictionary<string, object?> dict, _):
                return dict.TryGetValue(JinjaValues.ToOutput(index), out var v) ? v : Undefined.Instance;
            case (Namespace ns, string key):
                return ns.Attributes.TryGetValue(key, out var attribute) ? attribute : Undefined.Instance;
            case (List<object?> list, long i):
                long position = i < 0 ? list.Count + i : i;
                return position >= 0 && position < list.Count ? list[(int)position] : Undefined.Instance;
            case (string s, long i):
                var chars = JinjaInterpreter.Iterate(s, line);
                long at = i < 0 ? chars.Count + i : i;
                return at >= 0 && at < chars.Count ? chars[(int)at] : Undefined.Instance;
            case (null or Undefined, _):
                throw new TemplateException($"Line {line}: cannot index {JinjaValues.TypeName(target)} with [{JinjaValues.ToOutput(index)}].");
            default:
                return Undefined.Instance;
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step, int line)
    {
        var items = target switch
        {
            List<object?> list => list,
            string s => JinjaInterpreter.Iterate(s, line),
            _ => throw new TemplateException($"Line {line}: cannot slice {JinjaValues.TypeName(target)}."),
        };
        long n = items.Count;
        long stride = step is null ? 1 : AsLong(step, "slice step");
        if (stride == 0)
            throw new TemplateException($"Line {line}: slice step cannot be zero.");
        long Clamp(object? bound, long fallback)
        {
            if (bound is null)
                return fallback;
            long b = AsLong(bound, "slice bound");
            if (b < 0)
                b += n;
            return stride > 0 ? Math.Clamp(b, 0, n) : Math.Clamp(b, -1, n - 1);
        }
        long first = Clamp(start, stride > 0 ? 0 : n - 1);
        long last = Clamp(stop, stride > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = first; stride > 0 ? i < last : i > last; i += stride)
            result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    public static object? Binary(string op, object? left, object? right, int line)
    {
        switch (op)
        {
            case "==": return JinjaValues.AreEqual(left, right);
            case "!=": return !JinjaValues.AreEqual(left, right);
            case "<" or ">" or "<=" or ">=":
                int order = Compare(left, right, line);
                return op switch { "<" => order < 0, ">" => order > 0, "<=" => order <= 0, _ => order >= 0 };
            case "in": return Contains(right, left, line);
            case "not in": return !Contains(right, left, line);
            case "~": return JinjaValues.ToOutput(left) + JinjaValues.ToOutput(right);
            case "+":
                return (left, right) switch
                {
                    (long a, long b) => (object)(a + b),
                    (long or double, long or double) => ToDouble(left) + ToDouble(right),
                    (List<object?> a, List<object?> b) => a.Concat(b).ToList(),
                    (string, _) or (_, string) => JinjaValues.ToOutput(left) + JinjaValues.ToOutput(right),
                    _ => throw TypeError(op, left, right, line),
                };
            case "-" or "*" or "/" or "//" or "%" or "**":
                return Arithmetic(op, left, right, line);
            default:
                throw new TemplateException($"Line {line}: unknown operator '{op}'.");
        }
    }

    private static object Arithmetic(string op, object? left, object? right, int line)
    {
        if (op == "*" && left is string text && right is long times)
            return string.Concat(Enumerable.Repeat(text, (int)Math.Max(0, times)));
        if (left is not (long or double) || right is not (long or double))
            throw TypeError(op, left, right, line);
        if (left is long a && right is long b && op != "/")
        {
            if ((op is "//" or "%") && b == 0)
                throw new TemplateException($"Line {line}: division by zero.");
            return op switch
            {
                "-" => a - b,
                "*" => a * b,
                "//" => (long)Math.Floor((double)a / b),
                "%" => ((a % b) + b) % b,
                _ => (long)Math.Pow(a, b),
            };
        }
        double x = ToDouble(left), y = ToDouble(right);
        return op switch
        {
            "-" => x - y,
            "*" => x * y,
            "/" => y == 0 ? throw new TemplateException($"Line {line}: division by zero.") : x / y,
            "//" => Math.Floor(x / y),
            "%" => x - y * Math.Floor(x / y),
            _ => Math.Pow(x, y),
        };
    }

    private static TemplateException TypeError(string op, object? left, object? right, int line) =>
        new($"Line {line}: cannot apply '{op}' to {JinjaValues.TypeName(left)} and {JinjaValues.TypeName(right)}.");

    private static int Compare(object? left, object? right, int line) => (left, right) switch
    {
        (long or double, long or double) => ToDouble(left).CompareTo(ToDouble(right)),
        (string a, string b) => string.CompareOrdinal(a, b),
        _ => throw new TemplateException($"Line {line}: cannot compare {JinjaValues.TypeName(left)} with {JinjaValues.TypeName(right)}."),
    };

    private static bool Contains(object? container, object? item, int line) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        List<object?> list => list.Any(x => JinjaValues.AreEqual(x, item)),
        Dictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        null or Undefined => false,
        _ => throw new TemplateException($"Line {line}: cannot test membership in {JinjaValues.TypeName(container)}."),
    };

    public static object? ApplyFilter(string name, object? value, List<object?> args, Dictionary<string, object?> keywords, int line, JinjaInterpreter interpreter)
    {
        object? Arg(int i, string keyword, object? fallback) =>
            keywords.TryGetValue(keyword, out var k) ? k : i < args.Count ? args[i] : fallback;

        switch (name)
        {
            case "length" or "count":
                return value switch
                {
                    string s => (long)JinjaInterpreter.Iterate(s, line).Count,
                    List<object?> list => (long)list.Count,
                    Dictionary<string, object?> dict => (long)dict.Count,
                    _ => throw new TemplateException($"Line {line}: {JinjaValues.TypeName(value)} has no length."),
                };
            case "trim":
                return Arg(0, "chars", null) is string chars ? AsString(value, line).Trim(chars.ToCharArray()) : AsString(value, line).Trim();
            case "tojson":
                return JinjaValues.ToJson(value, Arg(0, "indent", null) is long indent ? (int)indent : null, 0);
            case "upper":
                return AsString(value, line).ToUpperInvariant();
            case "lower":
                return AsString(value, line).ToLowerInvariant();
            case "title":
                return Title(AsString(value, line));
            case "capitalize":
                string text = AsString(value, line);
                return text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..].ToLowerInvariant();
            case "join":
            {
                string separator = JinjaValues.ToOutput(Arg(0, "d", ""));
                var items = JinjaInterpreter.Iterate(value, line);
                if (Arg(1, "attribute", null) is string joinAttribute)
                    items = items.Select(i => GetAttribute(i, joinAttribute)).ToList();
                return string.Join(separator, items.Select(JinjaValues.ToOutput));
            }
            case "default" or "d":
            {
                var fallback = Arg(0, "default_value", "");
                bool boolean = JinjaValues.IsTrue(Arg(1, "boolean", false));
                return value is Undefined || (boolean && !JinjaValues.IsTrue(value)) ? fallback : value;
            }
            case "first":
                return JinjaInterpreter.Iterate(value, line) is { Count: > 0 } firstItems ? firstItems[0] : Undefined.Instance;
            case "last":
                return JinjaInterpreter.Iterate(value, line) is { Count: > 0 } lastItems ? lastItems[^1] : Undefined.Instance;
            case "list":
                return JinjaInterpreter.Iterate(value, line).ToList();
            case "string" or "safe":
                return value is string ? value : JinjaValues.ToOutput(value);
            case "int":
                return value switch
                {
                    long l => l,
                    double d => (long)Math.Truncate(d),
                    string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) => parsed,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsedDouble) => (long)Math.Truncate(parsedDouble),
                    bool b => b ? 1L : 0L,
                    _ => Arg(0, "default", 0L),
                };
            case "float":
                return value switch
                {
                    long l => (double)l,
                    double d => d,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
                    _ => Arg(0, "default", 0.0),
                };
            case "abs":
                return value switch
                {
                    long l => (object)Math.Abs(l),
                    double d => Math.Abs(d),
                    _ => throw new TemplateException($"Line {line}: abs needs a number, not {JinjaValues.TypeName(value)}."),
                };
            case "round":
                return Math.Round(ToDouble(value), (int)AsLong(Arg(0, "precision", 0L), "round"), MidpointRounding.ToEven);
            case "replace":
                return AsString(value, line).Replace(AsString(Arg(0, "old", ""), line), AsString(Arg(1, "new", ""), line), StringComparison.Ordinal);
            case "items":
                return value is Dictionary<string, object?> mapping
                    ? mapping.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()
                    : throw new TemplateException($"Line {line}: items needs a mapping, not {JinjaValues.TypeName(value)}.");
            case "dictsort":
                return value is Dictionary<string, object?> sorted
                    ? sorted.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()
                    : throw new TemplateException($"Line {line}: dictsort needs a mapping, not {JinjaValues.TypeName(value)}.");
            case "reverse":
                return value is string reversed
                    ? string.Concat(JinjaInterpreter.Iterate(reversed, line).Cast<string>().Reverse())
                    : JinjaInterpreter.Iterate(value, line).AsEnumerable().Reverse().ToList();
            case "indent":
            {
                long width = Arg(0, "width", 4L) is long w ? w : 4;
                bool indentFirst = JinjaValues.IsTrue(Arg(1, "first", false));
                bool blank = JinjaValues.IsTrue(Arg(2, "blank", false));
                string pad = new(' ', (int)width);
                var lines = AsString(value, line).Split('\n');
                for (int i = 0; i < lines.Length; i++)
                {
                    if ((i > 0 || indentFirst) && (blank || lines[i].Length > 0))
                        lines[i] = pad + lines[i];
                }
                return string.Join('\n', lines);
            }
            case "map":
            {
                var items = JinjaInterpreter.Iterate(value, line);
                if (Arg(-1, "attribute", null) is string attribute)
                    return items.Select(i => GetAttribute(i, attribute) is Undefined && keywords.TryGetValue("default", out var fallback) ? fallback : GetAttribute(i, attribute)).ToList();
                if (args.Count > 0 && args[0] is string filter && Filters.Contains(filter))
                    return items.Select(i => ApplyFilter(filter, i, args.Skip(1).ToList(), [], line, interpreter)).ToList();
                throw new TemplateException($"Line {line}: map needs attribute= or the name of a supported filter.");
            }
            case "select" or "reject":
            {
                bool keep = name == "select";
                var items = JinjaInterpreter.Iterate(value, line);
                return items.Where(i => (args.Count == 0 ? JinjaValues.IsTrue(i) : ApplyTest(AsString(args[0], line), i, args.Skip(1).ToList(), line)) == keep).ToList();
            }
            case "selectattr" or "rejectattr":
            {
                bool keep = name == "selectattr";
                string attribute = AsString(Arg(0, "attribute", ""), line);
                var items = JinjaInterpreter.Iterate(value, line);
                return items.Where(i =>
                {
                    var field = GetAttribute(i, attribute);
                    bool passed = args.Count > 1 ? ApplyTest(AsString(args[1], line), field, args.Skip(2).ToList(), line) : JinjaValues.IsTrue(field);
                    return passed == keep;
                }).ToList();
            }
            case "unique":
            {
                var result = new List<object?>();
                foreach (var item in JinjaInterpreter.Iterate(value, line))
                {
                    if (!result.Any(r => JinjaValues.AreEqual(r, item)))
                        result.Add(item);
                }
                return result;
            }
            case "sort":
            {
                var items = JinjaInterpreter.Iterate(value, line).ToList();
                string? attribute = Arg(2, "attribute", null) as string;
                bool reverse = JinjaValues.IsTrue(Arg(0, "reverse", false));
                items.Sort((a, b) => Compare(attribute is null ? a : GetAttribute(a, attribute), attribute is null ? b : GetAttribute(b, attribute), line));
                if (reverse)
                    items.Reverse();
                return items;
            }
            case "wordcount":
                return (long)AsString(value, line).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            case "min" or "max":
            {
                var items = JinjaInterpreter.Iterate(value, line);
                if (items.Count == 0)
                    return Undefined.Instance;
                var best = items[0];
                foreach (var item in items.Skip(1))
                {
                    int order = Compare(item, best, line);
                    if (name == "min" ? order < 0 : order > 0)
                        best = item;
                }
                return best;
            }
            case "sum":
                return JinjaInterpreter.Iterate(value, line).Aggregate((object?)0L, (total, item) => Binary("+", total, item, line));
            default:
                throw new TemplateException($"Line {line}: the filter '{name}' is not supported.");
        }
    }

    public static bool ApplyTest(string name, object? value, List<object?> args, int line)
    {
        object? Arg0() => args.Count > 0 ? args[0] : throw new TemplateException($"Line {line}: the test '{name}' needs an argument.");
        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "string" => value is string,
            "number" => value is long or double,
            "integer" => value is long,
            "float" => value is double,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "mapping" => value is Dictionary<string, object?> or Namespace,
            "iterable" => value is List<object?> or Dictionary<string, object?> or string,
            "sequence" => value is List<object?> or string or Dictionary<string, object?>,
            "callable" => value is Callable,
            "equalto" or "eq" or "==" => JinjaValues.AreEqual(value, Arg0()),
            "ne" or "!=" => !JinjaValues.AreEqual(value, Arg0()),
            "gt" or ">" => Compare(value, Arg0(), line) > 0,
            "ge" or ">=" => Compare(value, Arg0(), line) >= 0,
            "lt" or "<" => Compare(value, Arg0(), line) < 0,
            "le" or "<=" => Compare(value, Arg0(), line) <= 0,
            "odd" => AsLong(value, "odd") % 2 != 0,
            "even" => AsLong(value, "even") % 2 == 0,
            "divisibleby" => AsLong(value, "divisibleby") % AsLong(Arg0(), "divisibleby") == 0,
            "in" => Contains(Arg0(), value, line),
            "lower" => value is string lower && string.Equals(lower, lower.ToLowerInvariant(), StringComparison.Ordinal),
            "upper" => value is string upper && string.Equals(upper, upper.ToUpperInvariant(), StringComparison.Ordinal),
            _ => throw new TemplateException($"Line {line}: the test '{name}' is not supported."),
        };
    }

    private static Callable? StringMethod(string s, string name) => name switch
    {
        "startswith" => new(name, (args, _) => Prefixes(args).Any(p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => new(name, (args, _) => Prefixes(args).Any(p => s.EndsWith(p, StringComparison.Ordinal))),
        "strip" => new(name, (args, _) => args.Count > 0 && args[0] is string chars ? s.Trim(chars.ToCharArray()) : s.Trim()),
        "lstrip" => new(name, (args, _) => args.Count > 0 && args[0] is string chars ? s.TrimStart(chars.ToCharArray()) : s.TrimStart()),
        "rstrip" => new(name, (args, _) => args.Count > 0 && args[0] is string chars ? s.TrimEnd(chars.ToCharArray()) : s.TrimEnd()),
        "upper" => new(name, (_, _) => s.ToUpperInvariant()),
        "lower" => new(name, (_, _) => s.ToLowerInvariant()),
        "title" => new(name, (_, _) => Title(s)),
        "capitalize" => new(name, (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant()),
        "split" => new(name, (args, keywords) =>
        {
            var separator = keywords.TryGetValue("sep", out var sep) ? sep : args.Count > 0 ? args[0] : null;
            long max = keywords.TryGetValue("maxsplit", out var m) ? AsLong(m, "split") : args.Count > 1 ? AsLong(args[1], "split") : -1;
            return Split(s, separator as string, max);
        }),
        "replace" => new(name, (args, _) => s.Replace(AsString(args[0], 0), AsString(args[1], 0), StringComparison.Ordinal)),
        "find" => new(name, (args, _) => (long)s.IndexOf(AsString(args[0], 0), StringComparison.Ordinal)),
        "count" => new(name, (args, _) => (long)(AsString(args[0], 0) is { Length: > 0 } sub ? (s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length : s.Length + 1)),
        "join" => new(name, (args, _) => string.Join(s, JinjaInterpreter.Iterate(args[0], 0).Select(JinjaValues.ToOutput))),
        _ => null,
    };

    private static Callable? ListMethod(List<object?> list, string name) => name switch
    {
        "append" => new(name, (args, _) =>
        {
            list.Add(args[0]);
            return null;
        }),
        "index" => new(name, (args, _) => (long)list.FindIndex(x => JinjaValues.AreEqual(x, args[0]))),
        _ => null,
    };

    private static Callable? DictMethod(Dictionary<string, object?> dict, string name) => name switch
    {
        "items" => new(name, (_, _) => dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()),
        "keys" => new(name, (_, _) => dict.Keys.Cast<object?>().ToList()),
        "values" => new(name, (_, _) => dict.Values.ToList()),
        "get" => new(name, (args, _) => args.Count > 0 && args[0] is string key && dict.TryGetValue(key, out var v) ? v : args.Count > 1 ? args[1] : null),
        _ => null,
    };

    private static IEnumerable<string> Prefixes(List<object?> args) => args.Count == 0
        ? []
        : args[0] is List<object?> many ? many.Select(p => AsString(p, 0)) : [AsString(args[0], 0)];

    private static List<object?> Split(string s, string? separator, long max)
    {
        var parts = new List<object?>();
        if (separator is null)
        {
            // Python: runs of whitespace, no empty strings.
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (max < 0 || words.Length <= max + 1)
                return words.Cast<object?>().ToList();
            var trimmed = s.TrimStart();
            for (int k = 0; k < max; k++)
            {
                int end = trimmed.IndexOfAny([' ', '\t', '\n', '\r', '\f', '\v']);
                parts.Add(trimmed[..end]);
                trimmed = trimmed[end..].TrimStart();
            }
            parts.Add(trimmed);
            return parts;
        }
        if (separator.Length == 0)
            throw new TemplateException("split(): empty separator.");
        int start = 0;
        while (max < 0 || parts.Count < max)
        {
            int at = s.IndexOf(separator, start, StringComparison.Ordinal);
            if (at < 0)
                break;
            parts.Add(s[start..at]);
            start = at + separator.Length;
        }
        parts.Add(s[start..]);
        return parts;
    }

    private static string Title(string s)
    {
        var builder = new StringBuilder(s.Length);
        bool previousLetter = false;
        foreach (char c in s)
        {
            builder.Append(previousLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousLetter = char.IsLetter(c);
        }
        return builder.ToString();
    }

    private static string AsString(object? value, int line) =>
        value is string s ? s : value is null or Undefined ? "" : throw new TemplateException($"Line {line}: expected a string, not {JinjaValues.TypeName(value)}.");

    private static long AsLong(object? value, string what) => value switch
    {
        long l => l,
        double d when double.IsInteger(d) => (long)d,
        _ => throw new TemplateException($"{what}: expected an integer, not {JinjaValues.TypeName(value)}."),
    };

    private static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        _ => throw new TemplateException($"Expected a number, not {JinjaValues.TypeName(value)}."),
    };
}
