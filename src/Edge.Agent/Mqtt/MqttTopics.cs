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

    /// <summary>
    /// Why a requester's response topic cannot be used, or null when it can. Refused: wildcards,
    /// '$' (broker) topics, control characters, over 512 characters, and anything under this
    /// prefix, where the daemon's own request and command topics live: an answer published there
    /// could come back as a request, a loop that would publish for ever.
    /// </summary>
    public string? ResponseTopicProblem(string topic)
    {
        if (topic.Length is 0 or > 512)
            return "The response topic must be 1 to 512 characters.";
        if (topic.Contains('+') || topic.Contains('#'))
            return "The response topic must not hold a wildcard ('+' or '#').";
        if (topic.StartsWith('$'))
            return "The response topic must not be a '$' (broker) topic.";
        if (topic.Any(char.IsControl))
            return "The response topic must not hold control characters.";
        if (topic == Prefix || topic.StartsWith(Prefix + "/", StringComparison.Ordinal))
            return $"The response topic must not be under '{Prefix}/', where device requests and commands are.";
        return null;
    }

    /// <summary>An id becomes a topic level, so it must be one: no wildcards, no separators, not too long.</summary>
    public static bool IsUsableId(string id) =>
        id.Length is > 0 and <= 128 && !id.Contains('/') && !id.Contains('+') && !id.Contains('#') && !id.Any(char.IsControl);
}
