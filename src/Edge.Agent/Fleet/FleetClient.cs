using System.Collections.Concurrent;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Edge.Agent.Fleet;

/// <summary>
/// The operator's view of a fleet through the plant broker alone: every device's retained status
/// and latest update outcome, and update commands published to chosen devices. It stays connected
/// across broker restarts (reconnect and subscribe again; the retained messages bring it up to date).
/// </summary>
internal sealed class FleetClient : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly MqttClientOptions _options;
    private readonly string _prefix;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _changed = new(0);

    public ConcurrentDictionary<string, DeviceView> Devices { get; } = new();
    public ConcurrentDictionary<string, OtaOutcome> Outcomes { get; } = new();

    private FleetClient(string host, int port, string prefix)
    {
        _prefix = prefix;
        _options = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId($"dsedge-fleet-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40])
            .WithCleanSession().WithTimeout(TimeSpan.FromSeconds(10)).Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Receive(e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += _ => _closing.IsCancellationRequested ? Task.CompletedTask : ReconnectAsync();
    }

    public static async Task<FleetClient> ConnectAsync(string broker, string prefix, CancellationToken cancellation)
    {
        string host = broker.Split(':')[0];
        int port = broker.Contains(':') ? int.Parse(broker.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture) : 1883;
        var client = new FleetClient(host, port, prefix);
        await client.ConnectOnceAsync(cancellation);
        return client;
    }

    private async Task ConnectOnceAsync(CancellationToken cancellation)
    {
        await _client.ConnectAsync(_options, cancellation);
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter($"{_prefix}/+/status", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter($"{_prefix}/+/ota/status", MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellation);
    }

    private async Task ReconnectAsync()
    {
        for (int attempt = 0; !_closing.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 << Math.Min(attempt, 5))), _closing.Token);
                await ConnectOnceAsync(_closing.Token);
                return;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
                // the broker is still away; try again
            }
        }
    }

    private void Receive(string topic, byte[] payload)
    {
        string[] levels = topic[(_prefix.Length + 1)..].Split('/');
        try
        {
            if (levels is [var device, "status"] && JsonSerializer.Deserialize(payload, FleetJsonContext.Default.StatusMessage) is { } status)
                Devices[device] = new DeviceView(device, status.Status, status.Model, status.Version, status.Groups ?? [], status.Timestamp);
            else if (levels is [var updated, "ota", "status"] && JsonSerializer.Deserialize(payload, FleetJsonContext.Default.OtaStatusMessage) is { } outcome)
                Outcomes[updated] = new OtaOutcome(outcome.Status, outcome.Version, outcome.PreviousVersion, outcome.Reason, outcome.Command);
            else
                return;
        }
        catch (JsonException)
        {
            return; // not a device's message
        }
        _changed.Release();
    }

    /// <summary>Waits until some message arrives or the time passes.</summary>
    public Task WaitForChangeAsync(TimeSpan most, CancellationToken cancellation) => _changed.WaitAsync(most, cancellation);

    public Task PublishCommandAsync(string device, string url, string id, CancellationToken cancellation) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"{_prefix}/{device}/ota")
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(new OtaCommandMessage(url, id), FleetJsonContext.Default.OtaCommandMessage))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellation);

    public bool IsConnected => _client.IsConnected;

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        if (_client.IsConnected)
            await _client.DisconnectAsync();
        _client.Dispose();
        _closing.Dispose();
        _changed.Dispose();
    }
}
