using Edge.Agent.Configuration;
using MQTTnet.Formatter;

namespace Edge.Agent.Mqtt;

/// <summary>
/// The MQTT side of the daemon, read from configuration (<c>Mqtt:*</c>, <c>Device:Id</c>).
/// Setting <c>Mqtt:Host</c> turns it on; every other key has a default that suits a plant broker.
/// </summary>
internal sealed record MqttSettings
{
    public required string Host { get; init; }
    public required int Port { get; init; }
    public required string TopicPrefix { get; init; }
    public required string DeviceId { get; init; }

    /// <summary>Device:Groups (comma-separated): the fleet groups this device belongs to, published in its status for rollouts to select by.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V500;
    public string? Username { get; init; }
    public string? Password { get; init; }
    public bool UseTls { get; init; }
    public string? CaFile { get; init; }
    public string? ClientCertificateFile { get; init; }
    public string? ClientKeyFile { get; init; }
    /// <summary>How long the broker keeps our session (subscription and queued requests) while we are away.</summary>
    public uint SessionExpirySeconds { get; init; } = 7 * 24 * 3600;
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Requests generated at once; more wait in the inbox (the scheduler batches these).</summary>
    public int MaxConcurrentRequests { get; init; } = 16;
    public int MaxPayloadBytes { get; init; } = (int)AgentDefaults.MaxRequestBodyBytes;
    public int OutboxMaxMessages { get; init; } = 10_000;
    public long OutboxMaxBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Answered request ids remembered so that a redelivered request gets its stored answer, not a second run.</summary>
    public int RememberedAnswers { get; init; } = 10_000;
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(10);

    public MqttTopics Topics => new(TopicPrefix, DeviceId);

    /// <summary>The settings, or null when <c>Mqtt:Host</c> is not set; a bad value stops start-up naming its key.</summary>
    public static MqttSettings? Read(IConfiguration configuration)
    {
        if (configuration["Mqtt:Host"] is not { Length: > 0 } host)
            return null;
        bool tls = ConfigurationValues.ReadBool(configuration, "Mqtt:Tls:Enabled", false);
        var settings = new MqttSettings
        {
            Host = host,
            Port = ConfigurationValues.ReadInt(configuration, "Mqtt:Port", tls ? 8883 : 1883, minimum: 1),
            TopicPrefix = TopicLevel(configuration, "Mqtt:TopicPrefix", "deepseek-edge", allowSlash: true),
            DeviceId = TopicLevel(configuration, "Device:Id", Environment.MachineName, allowSlash: false),
            Groups = (configuration["Device:Groups"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ProtocolVersion = configuration["Mqtt:ProtocolVersion"] switch
            {
                null or "" or "5" or "5.0" => MqttProtocolVersion.V500,
                "3.1.1" or "4" => MqttProtocolVersion.V311,
                var other => throw new ConfigurationException("Mqtt:ProtocolVersion", $"'{other}' is not 5 or 3.1.1"),
            },
            Username = Optional(configuration, "Mqtt:Username"),
            Password = Optional(configuration, "Mqtt:Password"),
            UseTls = tls,
            CaFile = ExistingFile(configuration, "Mqtt:Tls:CaFile"),
            ClientCertificateFile = ExistingFile(configuration, "Mqtt:Tls:ClientCertificateFile"),
            ClientKeyFile = ExistingFile(configuration, "Mqtt:Tls:ClientKeyFile"),
            SessionExpirySeconds = (uint)ConfigurationValues.ReadInt(configuration, "Mqtt:SessionExpirySeconds", 7 * 24 * 3600, minimum: 0),
            KeepAlive = TimeSpan.FromSeconds(ConfigurationValues.ReadInt(configuration, "Mqtt:KeepAliveSeconds", 30, minimum: 1)),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(ConfigurationValues.ReadInt(configuration, "Mqtt:ReconnectMinMilliseconds", 500, minimum: 10)),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(ConfigurationValues.ReadInt(configuration, "Mqtt:ReconnectMaxMilliseconds", 30_000, minimum: 10)),
            MaxConcurrentRequests = ConfigurationValues.ReadInt(configuration, "Mqtt:MaxConcurrentRequests", 16, minimum: 1),
            MaxPayloadBytes = ConfigurationValues.ReadInt(configuration, "Mqtt:MaxPayloadBytes", (int)AgentDefaults.MaxRequestBodyBytes, minimum: 256),
            OutboxMaxMessages = ConfigurationValues.ReadInt(configuration, "Mqtt:Outbox:MaxMessages", 10_000, minimum: 1),
            OutboxMaxBytes = ConfigurationValues.ReadInt(configuration, "Mqtt:Outbox:MaxMegabytes", 64, minimum: 1) * 1024L * 1024L,
            RememberedAnswers = ConfigurationValues.ReadInt(configuration, "Mqtt:RememberedAnswers", 10_000, minimum: 0),
            StatusInterval = TimeSpan.FromSeconds(ConfigurationValues.ReadInt(configuration, "Mqtt:StatusIntervalSeconds", 10, minimum: 1)),
        };
        if (settings.ReconnectMaxDelay < settings.ReconnectMinDelay)
            throw new ConfigurationException("Mqtt:ReconnectMaxMilliseconds", "is below Mqtt:ReconnectMinMilliseconds");
        if ((settings.ClientCertificateFile is null) != (settings.ClientKeyFile is null))
            throw new ConfigurationException("Mqtt:Tls:ClientKeyFile", "a client certificate needs both Mqtt:Tls:ClientCertificateFile and Mqtt:Tls:ClientKeyFile");
        if (!tls && (settings.CaFile ?? settings.ClientCertificateFile) is not null)
            throw new ConfigurationException("Mqtt:Tls:Enabled", "certificate files are configured but TLS is off");
        return settings;
    }

    private static string? Optional(IConfiguration configuration, string key) => configuration[key] is { Length: > 0 } value ? value : null;

    private static string? ExistingFile(IConfiguration configuration, string key) => Optional(configuration, key) switch
    {
        null => null,
        var path when File.Exists(path) => path,
        var path => throw new ConfigurationException(key, $"the file '{path}' does not exist"),
    };

    /// <summary>Topic parts must not hold MQTT wildcards; the device id is one level.</summary>
    private static string TopicLevel(IConfiguration configuration, string key, string fallback, bool allowSlash)
    {
        string value = Optional(configuration, key) ?? fallback;
        if (value.Contains('+') || value.Contains('#') || value.Contains('\0') || (!allowSlash && value.Contains('/')) || value.StartsWith('/') || value.EndsWith('/'))
            throw new ConfigurationException(key, $"'{value}' cannot be part of an MQTT topic (no '+', '#'{(allowSlash ? "" : ", '/'")}, or leading/trailing '/')");
        return value;
    }
}
