using System.Text.Json;
using Edge.Agent.Core;

namespace Edge.Agent.Ota;

/// <summary>
/// An update command as JSON, from the HTTP admin route or the MQTT ota topic:
/// <c>{"url": "https://...", "force": false, "id": "..."}</c>; the optional id (1-64 printable
/// ASCII characters) comes back with the command's outcome on MQTT, so a fleet rollout knows which
/// command an outcome answers.
/// </summary>
internal sealed record UpdateCommand(Uri Url, bool Force, string? Id = null)
{
    /// <summary>Largest update command accepted, in bytes: a URL and a flag need no more.</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly HashSet<string> Fields = ["url", "force", "id"];

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
            string? id = JsonFields.OptionalString(root, "id");
            if (id is not null && (id.Length is 0 or > 64 || id.Any(c => c is < '!' or > '~')))
                throw RefusalException.Invalid("'id' must be 1 to 64 printable ASCII characters.", "id");
            return new UpdateCommand(url, JsonFields.OptionalBool(root, "force") ?? false, id);
        }
        catch (JsonException e)
        {
            throw RefusalException.Invalid($"The update command is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
    }
}
