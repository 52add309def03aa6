using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Agent.OpenAi;

namespace Edge.Agent.Mqtt;

// What the daemon publishes over MQTT besides the OpenAI-shaped answers (which carry the request id as their id).

/// <summary>An error answer: the request id when the request had a usable one, and OpenAI's error object.</summary>
internal sealed record MqttErrorAnswer(string? Id, ErrorBody Error);

/// <summary>One partial delta of a streamed answer; sequence numbers start at 0 and have no gaps.</summary>
internal sealed record MqttStreamDelta(string Id, long Sequence, string Delta);

/// <summary>The retained presence message: "online", "degraded" (with the reason) or, in the Last Will and at a clean stop, "offline".</summary>
internal sealed record DeviceStatus(string Status, string Device, string Model, string Version, string Provider, int QueueDepth, long Timestamp,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason)
{
    /// <summary>The device's fleet groups (Device:Groups).</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];
}

/// <summary>The outcome of an update command: "installed" or "refused", with the reason.</summary>
internal sealed record MqttOtaStatus(string Status, string? Version, string? PreviousVersion, string? Reason)
{
    /// <summary>The id of the update command this outcome answers (the command's "id"), when it answers one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Command { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(MqttErrorAnswer))]
[JsonSerializable(typeof(MqttStreamDelta))]
[JsonSerializable(typeof(DeviceStatus))]
[JsonSerializable(typeof(MqttOtaStatus))]
internal sealed partial class MqttJsonContext : JsonSerializerContext
{
    public static MqttJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
