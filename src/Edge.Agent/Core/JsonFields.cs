using System.Text.Json;

namespace Edge.Agent.Core;

/// <summary>Typed reads of optional request fields; a wrong type is refused naming the field.</summary>
internal static class JsonFields
{
    public static string? OptionalString(JsonElement root, string name, string? display = null)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw RefusalException.Invalid($"'{display ?? name}' must be a string, not {Describe(value.ValueKind)}.", display ?? name);
        return value.GetString();
    }

    public static bool? OptionalBool(JsonElement root, string name, string? display = null)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw RefusalException.Invalid($"'{display ?? name}' must be a boolean, not {Describe(value.ValueKind)}.", display ?? name);
        return value.GetBoolean();
    }

    public static int? OptionalInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw RefusalException.Invalid($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    public static long? OptionalLong(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long result))
            throw RefusalException.Invalid($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    public static float? OptionalFloat(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double result) || !double.IsFinite(result))
            throw RefusalException.Invalid($"'{name}' must be a number, not {Describe(value.ValueKind)}.", name);
        return (float)result;
    }

    /// <param name="envelopeField">A field the transport adds (MQTT's "id"), accepted besides the known ones.</param>
    public static void RefuseUnknown(JsonElement root, IReadOnlySet<string> known, string? envelopeField = null)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (!known.Contains(property.Name) && property.Name != envelopeField)
                throw RefusalException.Invalid($"Parameter '{property.Name}' is not supported by this server.", property.Name);
        }
    }

    public static JsonElement RequireObject(JsonElement root) => root.ValueKind == JsonValueKind.Object
        ? root
        : throw RefusalException.Invalid($"The request body must be a JSON object, not {Describe(root.ValueKind)}.");

    /// <summary>
    /// Refuses a document holding a string (or property name) that is not valid UTF-16, such as a
    /// lone surrogate escape ("\ud800"): every later read of it would fail as a server error.
    /// Linear in the document's size; nesting depth is bounded by the JSON reader (64).
    /// </summary>
    public static void RequireWellFormedStrings(JsonElement element)
    {
        try
        {
            Check(element);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to transcode an escaped lone surrogate.
            throw LoneSurrogate();
        }
    }

    private static void Check(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsWellFormed(element.GetString()!))
                    throw LoneSurrogate();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    Check(item);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsWellFormed(property.Name))
                        throw LoneSurrogate();
                    Check(property.Value);
                }
                break;
        }
    }

    private static bool IsWellFormed(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(text[i]))
                return false;
        }
        return true;
    }

    private static RefusalException LoneSurrogate() =>
        RefusalException.Invalid("A string in the request holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape), which is not text.");

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
