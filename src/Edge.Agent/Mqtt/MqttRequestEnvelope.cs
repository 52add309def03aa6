using System.Text.Json;

namespace Edge.Agent.Mqtt;

/// <summary>
/// The first look at a request payload, made before the broker is acknowledged: is it a JSON
/// object with a usable string "id"? The rest of the request is checked when it is answered, so
/// that its errors are answered (and remembered) like any other answer.
/// </summary>
internal static class MqttRequestEnvelope
{
    /// <returns>The id, or null with the reason the request cannot be taken (and the id, if one could be read).</returns>
    public static (string? Id, string? Problem) ReadId(ReadOnlySpan<byte> payload)
    {
        if (!System.Text.Unicode.Utf8.IsValid(payload))
            return (null, "The request is not valid UTF-8.");
        try
        {
            var reader = new Utf8JsonReader(payload);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, $"The request must be a JSON object, not {Core.JsonFields.Describe(root.ValueKind)}.");
            if (!root.TryGetProperty("id", out var id) || id.ValueKind == JsonValueKind.Null)
                return (null, "'id' is required: a string that names the request and its response topic.");
            if (id.ValueKind != JsonValueKind.String)
                return (null, $"'id' must be a string, not {Core.JsonFields.Describe(id.ValueKind)}.");
            string text = id.GetString()!;
            return MqttTopics.IsUsableId(text)
                ? (text, null)
                : (null, "'id' must be 1 to 128 characters without '/', '+', '#' or control characters: it becomes a topic level.");
        }
        catch (JsonException e)
        {
            return (null, $"The request is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json cannot unescape a lone surrogate (in a property name, say) to compare it.
            return (null, "The request holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape), which is not text.");
        }
    }
}
