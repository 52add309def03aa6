using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// A JSON schema as a byte <see cref="Pattern"/> of the documents that validate against it, so that
/// constrained decoding can only write those. Supported: type (one or a list), properties,
/// required, additionalProperties (false; true or absent add nothing the schema does not name),
/// enum, const, items, minItems/maxItems, anyOf, allOf of one schema, $ref into $defs or
/// definitions (not recursive), minLength/maxLength, pattern, format (date, time, date-time, uuid),
/// and minimum/maximum/exclusiveMinimum/exclusiveMaximum (whole-number bounds for numbers).
/// Annotations (title, description, default, examples...) are ignored. Every other keyword is
/// refused by name: accepting it and not enforcing it would let invalid output through.
/// Properties are written in the schema's order; whitespace is limited to one space or a newline
/// and indentation at each break. A free-form value ({} or true) nests at most
/// <see cref="FreeFormDepth"/> levels.
/// </summary>
public sealed class JsonSchemaCompiler
{
    public const int MaxSchemaBytes = 64 * 1024;
    public const int FreeFormDepth = 3;
    private const int MaxNesting = 32;
    private const long MaxBound = 1_000_000_000_000_000; // 1e15: whole bounds beyond it are refused

    private static readonly HashSet<string> Annotations =
        ["title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"];

    private static readonly HashSet<string> Supported =
    [
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "minItems", "maxItems",
        "anyOf", "allOf", "$ref", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ];

    private static readonly Dictionary<string, string> Formats = new()
    {
        ["date"] = Date,
        ["time"] = Time,
        ["date-time"] = Date + "T" + Time,
        ["uuid"] = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    };

    // Days that exist in every year of their month: February stops at 28, as a leap year cannot be told by a regex worth having.
    private const string Date = "[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";
    private const string Time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";

    private static readonly Pattern Space = Pattern.Optional(Pattern.Either(
        Pattern.Literal(" "),
        Pattern.Concat(Pattern.Literal("\n"), new Repetition(Pattern.Bytes(ByteSet.Of(" \t"u8)), 0, 16))));

    private readonly JsonElement _root;
    private readonly List<string> _refs = [];
    private int _nesting;

    private JsonSchemaCompiler(JsonElement root) => _root = root;

    /// <summary>The documents valid against <paramref name="schema"/> (JSON text).</summary>
    public static Pattern Compile(string schema)
    {
        if (Encoding.UTF8.GetByteCount(schema) > MaxSchemaBytes)
            throw new GrammarException($"The schema is larger than {MaxSchemaBytes / 1024} KiB.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schema, new JsonDocumentOptions { MaxDepth = 2 * MaxNesting + 8 });
        }
        catch (JsonException e)
        {
            throw new GrammarException($"The schema is not JSON: {e.Message}");
        }
        using (document)
            return new JsonSchemaCompiler(document.RootElement).Value(document.RootElement, "#");
    }

    /// <summary>One of several schemas' documents, each between its literal prefix and suffix (<see cref="GrammarKind.FramedSchemas"/>).</summary>
    public static Pattern CompileFramed(string framed)
    {
        if (Encoding.UTF8.GetByteCount(framed) > MaxSchemaBytes)
            throw new GrammarException($"The schemas are larger than {MaxSchemaBytes / 1024} KiB.");
        using var document = JsonDocument.Parse(framed);
        var options = new List<Pattern>();
        foreach (var item in document.RootElement.EnumerateArray())
        {
            var schema = item.GetProperty("schema");
            options.Add(Pattern.Concat(Pattern.Literal(item.GetProperty("prefix").GetString()!), new JsonSchemaCompiler(schema).Value(schema, "#"),
                Pattern.Literal(item.GetProperty("suffix").GetString()!)));
        }
        return options.Count == 0 ? throw new GrammarException("No schema to choose from.") : Pattern.Either([.. options]);
    }

    private Pattern Value(JsonElement schema, string path)
    {
        if (++_nesting > MaxNesting)
            throw new GrammarException($"The schema nests deeper than {MaxNesting} at {path}.");
        try
        {
            return ValueUnnested(schema, path);
        }
        finally
        {
            _nesting--;
        }
    }

    private Pattern ValueUnnested(JsonElement schema, string path)
    {
        if (schema.ValueKind == JsonValueKind.True)
            return FreeForm(FreeFormDepth);
        if (schema.ValueKind == JsonValueKind.False)
            throw new GrammarException($"The schema at {path} is false: no value is valid.");
        if (schema.ValueKind != JsonValueKind.Object)
            throw new GrammarException($"The schema at {path} must be an object or a boolean, not {schema.ValueKind}.");
        var keywords = new Dictionary<string, JsonElement>();
        foreach (var property in schema.EnumerateObject())
        {
            if (Annotations.Contains(property.Name))
                continue;
            if (!Supported.Contains(property.Name))
                throw new GrammarException($"The schema keyword '{property.Name}' (at {path}) is not supported: constrained decoding cannot enforce it, and ignoring it could let invalid output through.");
            keywords[property.Name] = property.Value;
        }
        if (keywords.TryGetValue("$ref", out var reference))
            return Only(keywords, "$ref", path, () => Reference(reference, path));
        if (keywords.TryGetValue("anyOf", out var anyOf))
            return Only(keywords, "anyOf", path, () => Pattern.Either([.. Schemas(anyOf, path + "/anyOf").Select(s => Value(s.Schema, s.Path))]));
        if (keywords.TryGetValue("allOf", out var allOf))
        {
            var all = Schemas(allOf, path + "/allOf");
            if (all.Count != 1)
                throw new GrammarException($"allOf with {all.Count} schemas (at {path}) is not supported; only one.");
            return Only(keywords, "allOf", path, () => Value(all[0].Schema, all[0].Path));
        }
        if (keywords.TryGetValue("const", out var constant))
            return Pattern.Literal(Canonical(constant));
        if (keywords.TryGetValue("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
                throw new GrammarException($"enum (at {path}) must be a non-empty array.");
            return Pattern.Either([.. values.EnumerateArray().Select(v => Pattern.Literal(Canonical(v)))]);
        }
        var types = Types(keywords, path);
        return Pattern.Either([.. types.Select(type => Typed(type, keywords, path))]);
    }

    /// <summary>Keywords that stand alone: any other keyword beside them is refused rather than half applied.</summary>
    private static Pattern Only(Dictionary<string, JsonElement> keywords, string name, string path, Func<Pattern> compile)
    {
        if (keywords.Count > 1)
            throw new GrammarException($"'{name}' beside '{keywords.Keys.First(k => k != name)}' (at {path}) is not supported.");
        return compile();
    }

    private Pattern Reference(JsonElement reference, string path)
    {
        string target = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : throw new GrammarException($"$ref (at {path}) must be a string.");
        if (_refs.Contains(target))
            throw new GrammarException($"The $ref '{target}' (at {path}) is recursive; recursive schemas are not supported.");
        var resolved = Resolve(target) ?? throw new GrammarException($"The $ref '{target}' (at {path}) does not resolve; only local references (#/$defs/..., #/definitions/...) are supported.");
        _refs.Add(target);
        try
        {
            return Value(resolved, target);
        }
        finally
        {
            _refs.RemoveAt(_refs.Count - 1);
        }
    }

    /// <summary>A local JSON pointer (RFC 6901) into the schema document.</summary>
    private JsonElement? Resolve(string pointer)
    {
        if (pointer == "#")
            return _root;
        if (!pointer.StartsWith("#/", StringComparison.Ordinal))
            return null;
        var current = _root;
        foreach (string raw in pointer[2..].Split('/'))
        {
            string token = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(token, out current))
                return null;
        }
        return current;
    }

    private static List<(JsonElement Schema, string Path)> Schemas(JsonElement list, string path)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new GrammarException($"{path} must be a non-empty array of schemas.");
        return [.. list.EnumerateArray().Select((s, i) => (s, $"{path}/{i}"))];
    }

    private static List<string> Types(Dictionary<string, JsonElement> keywords, string path)
    {
        if (keywords.TryGetValue("type", out var type))
        {
            var names = type.ValueKind == JsonValueKind.String ? [type.GetString()!]
                : type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "").ToList()
                : throw new GrammarException($"type (at {path}) must be a string or an array of strings.");
            foreach (string name in names)
            {
                if (name is not ("string" or "integer" or "number" or "boolean" or "null" or "object" or "array"))
                    throw new GrammarException($"The type '{name}' (at {path}) is not a JSON schema type.");
            }
            return names.Count == 0 ? throw new GrammarException($"type (at {path}) is empty.") : names;
        }
        // No type: the keywords present say which kinds of value they constrain; none at all is any value.
        if (keywords.ContainsKey("properties") || keywords.ContainsKey("required") || keywords.ContainsKey("additionalProperties"))
            return ["object"];
        if (keywords.ContainsKey("items") || keywords.ContainsKey("minItems") || keywords.ContainsKey("maxItems"))
            return ["array"];
        if (keywords.ContainsKey("minLength") || keywords.ContainsKey("maxLength") || keywords.ContainsKey("pattern") || keywords.ContainsKey("format"))
            return ["string"];
        if (keywords.ContainsKey("minimum") || keywords.ContainsKey("maximum") || keywords.ContainsKey("exclusiveMinimum") || keywords.ContainsKey("exclusiveMaximum"))
            return ["number"];
        return ["any"];
    }

    private Pattern Typed(string type, Dictionary<string, JsonElement> keywords, string path) => type switch
    {
        "string" => StringValue(keywords, path),
        "integer" => NumberRanges.WholeNumber(Bound(keywords, "minimum", path), Bound(keywords, "exclusiveMinimum", path), Bound(keywords, "maximum", path), Bound(keywords, "exclusiveMaximum", path), path),
        "number" => NumberRanges.Number(Bound(keywords, "minimum", path), Bound(keywords, "exclusiveMinimum", path), Bound(keywords, "maximum", path), Bound(keywords, "exclusiveMaximum", path), path),
        "boolean" => Pattern.Either(Pattern.Literal("true"), Pattern.Literal("false")),
        "null" => Pattern.Literal("null"),
        "object" => ObjectValue(keywords, path),
        "array" => ArrayValue(keywords, path),
        _ => FreeForm(FreeFormDepth),
    };

    private static decimal? Bound(Dictionary<string, JsonElement> keywords, string name, string path)
    {
        if (!keywords.TryGetValue(name, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Number)
            throw new GrammarException($"{name} (at {path}) must be a number (exclusive bounds as numbers, as in draft 2020-12).");
        if (!value.TryGetDecimal(out decimal bound) || Math.Abs(bound) > MaxBound)
            throw new GrammarException($"{name} {bound} (at {path}) is beyond ±1e15, which is not supported.");
        return bound;
    }

    private static int? Count(Dictionary<string, JsonElement> keywords, string name, string path)
    {
        if (!keywords.TryGetValue(name, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int count) || count < 0)
            throw new GrammarException($"{name} (at {path}) must be a whole number from 0 to {int.MaxValue}.");
        return count;
    }

    private static Pattern StringValue(Dictionary<string, JsonElement> keywords, string path)
    {
        int min = Count(keywords, "minLength", path) ?? 0;
        int? max = Count(keywords, "maxLength", path);
        if (max < min)
            throw new GrammarException($"maxLength {max} is below minLength {min} (at {path}): no string is valid.");
        string? regex = null;
        if (keywords.TryGetValue("format", out var format))
        {
            string name = format.ValueKind == JsonValueKind.String ? format.GetString()! : "";
            regex = Formats.TryGetValue(name, out var known) ? "^" + known + "$"
                : throw new GrammarException($"The string format '{name}' (at {path}) is not supported; supported: {string.Join(", ", Formats.Keys)}.");
        }
        if (keywords.TryGetValue("pattern", out var pattern))
        {
            if (regex is not null)
                throw new GrammarException($"pattern beside format (at {path}) is not supported.");
            regex = pattern.ValueKind == JsonValueKind.String ? pattern.GetString()! : throw new GrammarException($"pattern (at {path}) must be a string.");
        }
        var quote = Pattern.Literal("\"");
        if (regex is null)
            return Pattern.Concat(quote, new Repetition(StringCharacter, min, max), quote);
        if (min > 0 || max is not null)
            throw new GrammarException($"minLength/maxLength beside pattern or format (at {path}) is not supported.");
        var (body, anchoredStart, anchoredEnd) = RegexParser.Parse(regex, inJsonString: true);
        // A schema pattern matches anywhere in the string unless anchored (ECMA-262 search semantics).
        var anything = Pattern.Any(Pattern.Character(RegexParser.JsonStringAscii, nonAscii: true));
        return Pattern.Concat(quote, anchoredStart ? Pattern.Nothing : anything, body, anchoredEnd ? Pattern.Nothing : anything, quote);
    }

    /// <summary>One character of a JSON string: itself where JSON allows it, or an escape.</summary>
    private static readonly Pattern StringCharacter = Pattern.Either(
        Pattern.Character(RegexParser.JsonStringAscii, nonAscii: true),
        Pattern.Concat(Pattern.Literal("\\"), Pattern.Bytes(ByteSet.Of("\"\\/bfnrt"u8))),
        Pattern.Concat(Pattern.Literal("\\u"), new Repetition(Pattern.Bytes(ByteSet.Of("0123456789abcdefABCDEF"u8)), 4, 4)));

    private Pattern ObjectValue(Dictionary<string, JsonElement> keywords, string path)
    {
        var required = new HashSet<string>();
        if (keywords.TryGetValue("required", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
                throw new GrammarException($"required (at {path}) must be an array of strings.");
            required = [.. list.EnumerateArray().Select(r => r.GetString()!)];
        }
        bool closed = false;
        if (keywords.TryGetValue("additionalProperties", out var additional))
        {
            if (additional.ValueKind == JsonValueKind.False)
                closed = true;
            else if (additional.ValueKind != JsonValueKind.True && !(additional.ValueKind == JsonValueKind.Object && !additional.EnumerateObject().Any()))
                throw new GrammarException($"additionalProperties with a schema (at {path}) is not supported; use false, or name the properties.");
        }
        if (!keywords.TryGetValue("properties", out var properties))
        {
            if (required.Count > 0)
                throw new GrammarException($"required names properties that 'properties' does not define (at {path}).");
            return closed ? Pattern.Concat(Pattern.Literal("{"), Space, Pattern.Literal("}")) : FreeForm(FreeFormDepth);
        }
        if (properties.ValueKind != JsonValueKind.Object)
            throw new GrammarException($"properties (at {path}) must be an object.");
        var members = new List<(Pattern, bool)>();
        var named = new HashSet<string>();
        foreach (var property in properties.EnumerateObject())
        {
            named.Add(property.Name);
            string key = "\"" + JsonEncodedText.Encode(property.Name, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";
            var value = Value(property.Value, $"{path}/properties/{property.Name}");
            members.Add((Pattern.Concat(Pattern.Literal(key), Space, Pattern.Literal(":"), Space, value), required.Contains(property.Name)));
        }
        if (required.FirstOrDefault(r => !named.Contains(r)) is { } missing)
            throw new GrammarException($"required names '{missing}', which 'properties' does not define (at {path}); additional properties are not generated.");
        return Pattern.Concat(Pattern.Literal("{"), Space, new Members(members, Separator), Space, Pattern.Literal("}"));
    }

    private Pattern ArrayValue(Dictionary<string, JsonElement> keywords, string path)
    {
        int min = Count(keywords, "minItems", path) ?? 0;
        int? max = Count(keywords, "maxItems", path);
        if (max < min)
            throw new GrammarException($"maxItems {max} is below minItems {min} (at {path}): no array is valid.");
        var item = keywords.TryGetValue("items", out var items) ? Value(items, path + "/items") : FreeForm(FreeFormDepth - 1);
        return Items(item, min, max);
    }

    private static Pattern Items(Pattern item, int min, int? max)
    {
        var open = Pattern.Concat(Pattern.Literal("["), Space);
        var close = Pattern.Concat(Space, Pattern.Literal("]"));
        if (max == 0)
            return Pattern.Concat(open, close);
        return Pattern.Concat(open, new SeparatedList(item, Separator, min, max), close);
    }

    private static readonly Pattern Separator = Pattern.Concat(Space, Pattern.Literal(","), Space);

    /// <summary>Any JSON value, nesting at most <paramref name="depth"/> more containers.</summary>
    private static Pattern FreeForm(int depth)
    {
        var quote = Pattern.Literal("\"");
        var text = Pattern.Concat(quote, Pattern.Any(StringCharacter), quote);
        var scalars = new List<Pattern> { text, NumberRanges.Number(null, null, null, null, "#"), Pattern.Literal("true"), Pattern.Literal("false"), Pattern.Literal("null") };
        if (depth > 0)
        {
            var inner = FreeForm(depth - 1);
            var member = Pattern.Concat(text, Space, Pattern.Literal(":"), Space, inner);
            scalars.Add(Pattern.Concat(Pattern.Literal("{"), Space, new SeparatedList(member, Separator, 0, null), Space, Pattern.Literal("}")));
            scalars.Add(Items(inner, 0, null));
        }
        return Pattern.Either([.. scalars]);
    }

    /// <summary>A value as compact JSON, as enum and const must be written.</summary>
    private static string Canonical(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            value.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
