namespace Edge.Agent.Mqtt;

/// <summary>The topics of one device under a prefix: <c>&lt;prefix&gt;/&lt;deviceId&gt;/...</c>.</summary>
internal sealed record MqttTopics(string Prefix, string DeviceId)
{
    private string Root => $"{Prefix}/{DeviceId}";

    public string Request => $"{Root}/request";

    public string Status => $"{Root}/status";

    /// <summary>Update commands: <c>{"url": ..., "force": false}</c>.</summary>
    public string Ota => $"{Root}/ota";

    /// <summary>The outcome of each update command.</summary>
    public string OtaStatus => $"{Root}/ota/status";

    /// <summary>Answers to requests that came without a response topic go here.</summary>
    public string Response(string requestId) => $"{Root}/response/{requestId}";

    /// <summary>Errors for requests that could not be addressed at all (no response topic, no usable id).</summary>
    public string Errors => $"{Root}/errors";

    /// <summary>Partial deltas of a streamed answer, next to its final answer.</summary>
    public static string Stream(string responseTopic) => $"{responseTopic}/stream";

    /// <summary>An id becomes a topic level, so it must be one: no wildcards, no separators, not too long.</summary>
    public static bool IsUsableId(string id) =>
        id.Length is > 0 and <= 128 && !id.Contains('/') && !id.Contains('+') && !id.Contains('#') && !id.Any(char.IsControl);
}
