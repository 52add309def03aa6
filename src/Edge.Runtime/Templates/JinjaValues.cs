using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Edge.Runtime.Templates;

/// <summary>
/// The values templates compute with: null (none), <see cref="Undefined"/>, bool, long, double,
/// string, <see cref="List{T}"/> of values, <see cref="Dictionary{TKey,TValue}"/> keyed by string,
/// <see cref="Namespace"/> and <see cref="Callable"/>. Conversions follow @huggingface/jinja,
/// the reference the tests compare with.
/// </summary>
internal static class JinjaValues
{
    public static bool IsTrue(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    /// <summary>How a value prints in {{ }}.</summary>
    public static string ToOutput(object? value) => value switch
    {
        null or Undefined => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        List<object?> or Dictionary<string, object?> => ToJson(value, null, 0),
        Namespace => "[object Namespace]",
        _ => value.ToString() ?? "",
    };

    public static string FormatDouble(double d) =>
        double.IsInteger(d) && Math.Abs(d) < 1e21 ? d.ToString("F1", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Python's json.dumps layout (", " and ": "), non-ASCII kept: what HF's tojson writes.</summary>
    public static string ToJson(object? value, int? indent, int depth)
    {
        var builder = new StringBuilder();
        WriteJson(builder, value, indent, depth);
        return builder.ToString();
    }

    private static void WriteJson(StringBuilder builder, object? value, int? indent, int depth)
    {
        switch (value)
        {
            case null or Undefined:
                builder.Append("null");
                break;
            case bool b:
                builder.Append(b ? "true" : "false");
                break;
            case long l:
                builder.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                builder.Append(double.IsInteger(d) ? d.ToString("F0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case string s:
                WriteJsonString(builder, s);
                break;
            case List<object?> list:
                WriteContainer(builder, '[', ']', list.Count, indent, depth, (i, b) => WriteJson(b, list[i], indent, depth + 1));
                break;
            case Dictionary<string, object?> dict:
                var entries = dict.ToList();
                WriteContainer(builder, '{', '}', entries.Count, indent, depth, (i, b) =>
                {
                    WriteJsonString(b, entries[i].Key);
                    b.Append(": ");
                    WriteJson(b, entries[i].Value, indent, depth + 1);
                });
                break;
            default:
                throw new TemplateException($"Cannot convert {TypeName(value)} to JSON.");
        }
    }

    private static void WriteContainer(StringBuilder builder, char open, char close, int count, int? indent, int depth, Action<int, StringBuilder> item)
    {
        builder.Append(open);
        if (count == 0)
        {
            builder.Append(close);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            if (indent is { } width)
                builder.Append(i == 0 ? "\n" : ",\n").Append(' ', width * (depth + 1));
            else if (i > 0)
                builder.Append(", ");
            item(i, builder);
        }
        if (indent is { } w)
            builder.Append('\n').Append(' ', w * depth);
        builder.Append(close);
    }

    private static void WriteJsonString(StringBuilder builder, string s)
    {
        builder.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                default:
                    if (c < 0x20)
                        builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else
                        builder.Append(c);
                    break;
            }
        }
        builder.Append('"');
    }

    /// <summary>Template values from JSON (an OpenAI request's messages, tools, ...).</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number when element.TryGetInt64(out long l) => l,
        JsonValueKind.Number => element.GetDouble() is var d && double.IsInteger(d) && Math.Abs(d) < 9e15 ? (object)(long)d : d,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static bool AreEqual(object? a, object? b) => (a, b) switch
    {
        (null, null) or (Undefined, Undefined) => true,
        (long x, long y) => x == y,
        (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (bool x, bool y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var v) && AreEqual(p.Value, v)),
        _ => ReferenceEquals(a, b),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "namespace",
        Callable => "function",
        _ => value.GetType().Name,
    };
}

/// <summary>A name or attribute that does not exist; prints as nothing, is false, fails when used as a value.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Instance = new();
    private Undefined() { }
}

/// <summary>namespace(): a mutable bag of attributes, the one way templates carry state out of a loop.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = [];
}

/// <summary>A function a template can call: globals, macros and bound methods.</summary>
internal sealed class Callable(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
{
    public string Name { get; } = name;
    public object? Invoke(List<object?> arguments, Dictionary<string, object?> keywords) => invoke(arguments, keywords);
}
