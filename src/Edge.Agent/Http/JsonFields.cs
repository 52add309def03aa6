using System.Text.Json;

namespace Edge.Agent.Http;

/// <summary>A request the API refuses; <see cref="Param"/> names the offending field.</summary>
internal sealed class BadRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>Typed reads of optional request fields; a wrong type is refused naming the field.</summary>
internal static class JsonFields
{
    public static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'{name}' must be a string, not {Describe(value.ValueKind)}.", name);
        return value.GetString();
    }

    public static bool? OptionalBool(JsonElement root, string name, string? display = null)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw new BadRequestException($"'{display ?? name}' must be a boolean, not {Describe(value.ValueKind)}.", display ?? name);
        return value.GetBoolean();
    }

    public static int? OptionalInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw new BadRequestException($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    public static long? OptionalLong(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long result))
            throw new BadRequestException($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    public static float? OptionalFloat(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double result) || !double.IsFinite(result))
            throw new BadRequestException($"'{name}' must be a number, not {Describe(value.ValueKind)}.", name);
        return (float)result;
    }

    /// <param name="envelopeField">A field the transport adds (MQTT's "id"), accepted besides the known ones.</param>
    public static void RefuseUnknown(JsonElement root, IReadOnlySet<string> known, string? envelopeField = null)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (!known.Contains(property.Name) && property.Name != envelopeField)
                throw new BadRequestException($"Parameter '{property.Name}' is not supported by this server.", property.Name);
        }
    }

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
