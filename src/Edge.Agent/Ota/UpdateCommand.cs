using System.Text.Json;
using Edge.Agent.Core;

namespace Edge.Agent.Ota;

/// <summary>An update command as JSON, from the HTTP admin route or the MQTT ota topic: <c>{"url": "https://...", "force": false}</c>.</summary>
internal sealed record UpdateCommand(Uri Url, bool Force)
{
    /// <summary>Largest update command accepted, in bytes: a URL and a flag need no more.</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly HashSet<string> Fields = ["url", "force"];

    /// <exception cref="RefusalException">Not a JSON object with an absolute http(s) "url", or with other fields.</exception>
    public static UpdateCommand Read(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxBytes)
            throw new RefusalException(RefusalKind.TooLarge, $"The update command is {json.Length} bytes; the limit is {MaxBytes}.");
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw RefusalException.Invalid("The update command is not valid UTF-8.");
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = JsonFields.RequireObject(document.RootElement);
            JsonFields.RequireWellFormedStrings(root);
            JsonFields.RefuseUnknown(root, Fields);
            string text = JsonFields.OptionalString(root, "url") ?? throw RefusalException.Invalid("'url' is required.", "url");
            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                throw RefusalException.Invalid($"'url' must be an absolute http or https URL, not '{text}'.", "url");
            return new UpdateCommand(url, JsonFields.OptionalBool(root, "force") ?? false);
        }
        catch (JsonException e)
        {
            throw RefusalException.Invalid($"The update command is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
    }
}
