using MQTTnet.Formatter;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>A broker, the daemon connected to it as one device, and the equipment's client, for one test.</summary>
internal sealed class MqttSetup : IAsyncDisposable
{
    private MqttSetup(MosquittoBroker broker, LiveDaemon daemon, MqttTestClient equipment, string deviceId)
    {
        Broker = broker;
        Daemon = daemon;
        Equipment = equipment;
        DeviceId = deviceId;
    }

    public MosquittoBroker Broker { get; }
    public LiveDaemon Daemon { get; }
    public MqttTestClient Equipment { get; }
    public string DeviceId { get; }
    public string Root => $"deepseek-edge/{DeviceId}";

    /// <summary>The daemon's configuration for a broker on loopback, quick to reconnect.</summary>
    public static string[] DaemonConfiguration(int port, string deviceId, params string[] extra) =>
    [
        "--Mqtt:Host=127.0.0.1", $"--Mqtt:Port={port}", $"--Device:Id={deviceId}",
        "--Mqtt:ReconnectMinMilliseconds=100", "--Mqtt:ReconnectMaxMilliseconds=800", "--Mqtt:StatusIntervalSeconds=1", .. extra,
    ];

    public static Task<MqttSetup> StartAsync(MqttProtocolVersion equipmentVersion = MqttProtocolVersion.V500, bool persistentEquipment = false, params string[] daemonConfiguration) =>
        StartAsync(equipmentVersion, persistentEquipment, wrapExecutor: null, daemonConfiguration);

    /// <param name="wrapExecutor">Wraps the daemon's batch executor (fault injection), or null.</param>
    public static async Task<MqttSetup> StartAsync(MqttProtocolVersion equipmentVersion, bool persistentEquipment,
        Func<Edge.Runtime.Scheduling.IBatchExecutor, Edge.Runtime.Scheduling.IBatchExecutor>? wrapExecutor, params string[] daemonConfiguration)
    {
        var broker = MosquittoBroker.Start();
        string deviceId = $"dev-{Guid.NewGuid():N}"[..16];
        var equipment = await MqttTestClient.ConnectAsync(broker.Port, equipmentVersion, persistentEquipment);
        await equipment.SubscribeAsync($"deepseek-edge/{deviceId}/#");
        await equipment.SubscribeAsync("replies/#");
        var configuration = DaemonConfiguration(broker.Port, deviceId, daemonConfiguration);
        var daemon = wrapExecutor is null ? await LiveDaemon.StartAsync(configuration) : await LiveDaemon.StartWithExecutorAsync(wrapExecutor, configuration);
        var setup = new MqttSetup(broker, daemon, equipment, deviceId);
        await setup.WaitOnlineAsync();
        return setup;
    }

    public Task<ReceivedMessage> WaitOnlineAsync() =>
        Equipment.WaitForAsync(m => m.Topic == $"{Root}/status" && m.Payload.Contains("\"online\"", StringComparison.Ordinal));

    public Task RequestAsync(string json, string? responseTopic = null, byte[]? correlation = null) =>
        Equipment.PublishAsync($"{Root}/request", json, responseTopic, correlation);

    public Task<ReceivedMessage> AnswerAsync(string id) => Equipment.WaitForAsync(m => m.Topic == $"{Root}/response/{id}");

    public async ValueTask DisposeAsync()
    {
        await Daemon.DisposeAsync();
        await Equipment.DisposeAsync();
        Broker.Dispose();
    }
}
