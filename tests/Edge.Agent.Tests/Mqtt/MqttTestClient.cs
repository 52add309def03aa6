using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>A message the test client received.</summary>
internal sealed record ReceivedMessage(string Topic, string Payload, byte[]? CorrelationData, bool Retain)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Payload).RootElement;
}

/// <summary>
/// Plays factory equipment: an MQTTnet client of its own (5 or 3.1.1) that publishes requests and
/// collects what arrives. With a persistent session it reconnects by itself, as real equipment
/// would, so the broker queues answers for it while it is away.
/// </summary>
internal sealed class MqttTestClient : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly ConcurrentQueue<ReceivedMessage> _received = new();
    private readonly List<string> _filters = [];
    private MqttClientOptions _options = null!;
    private bool _disposed;

    public IReadOnlyCollection<ReceivedMessage> Received => _received;

    public static async Task<MqttTestClient> ConnectAsync(int port, MqttProtocolVersion version = MqttProtocolVersion.V500, bool persistent = false)
    {
        var client = new MqttTestClient();
        var builder = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"equipment-{Guid.NewGuid():N}")
            .WithProtocolVersion(version).WithTimeout(TimeSpan.FromSeconds(10));
        if (persistent && version == MqttProtocolVersion.V500)
            builder.WithCleanStart(false).WithSessionExpiryInterval(600);
        else if (persistent)
            builder.WithCleanSession(false);
        client._options = builder.Build();
        client._client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            client._received.Enqueue(new ReceivedMessage(m.Topic, Encoding.UTF8.GetString(m.Payload), m.CorrelationData, m.Retain));
            return Task.CompletedTask;
        };
        if (persistent)
            client._client.DisconnectedAsync += _ => client.ReconnectAsync();
        await client._client.ConnectAsync(client._options);
        return client;
    }

    private async Task ReconnectAsync()
    {
        while (!_disposed && !_client.IsConnected)
        {
            try
            {
                await _client.ConnectAsync(_options);
                foreach (string filter in _filters)
                    await _client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            }
            catch (Exception) when (!_disposed)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task SubscribeAsync(string filter)
    {
        _filters.Add(filter);
        await _client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
    }

    public Task PublishAsync(string topic, string payload, string? responseTopic = null, byte[]? correlation = null, bool retain = false) =>
        PublishAsync(topic, Encoding.UTF8.GetBytes(payload), responseTopic, correlation, retain);

    public async Task PublishAsync(string topic, byte[] payload, string? responseTopic = null, byte[]? correlation = null, bool retain = false)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain);
        if (responseTopic is not null)
            builder.WithResponseTopic(responseTopic);
        if (correlation is not null)
            builder.WithCorrelationData(correlation);
        await _client.PublishAsync(builder.Build());
    }

    /// <summary>Waits for the first message that matches.</summary>
    public async Task<ReceivedMessage> WaitForAsync(Func<ReceivedMessage, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (_received.FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(10);
        }
        throw new TimeoutException($"No matching message; received: {string.Join(" | ", _received.Select(m => $"{m.Topic} {m.Payload}").TakeLast(10))}");
    }

    /// <summary>Waits until at least <paramref name="count"/> messages match.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForCountAsync(Func<ReceivedMessage, bool> match, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var found = _received.Where(match).ToList();
            if (found.Count >= count)
                return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{found.Count} of {count} messages arrived.");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_client.IsConnected)
            await _client.DisconnectAsync();
        _client.Dispose();
    }
}
