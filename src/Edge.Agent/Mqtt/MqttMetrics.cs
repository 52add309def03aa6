using System.Diagnostics.Metrics;

namespace Edge.Agent.Mqtt;

/// <summary>The MQTT instruments on the daemon's meter: requests by receipt, answers published, outbox and inbox sizes, connection state.</summary>
internal sealed class MqttMetrics
{
    private readonly Counter<long> _requests;
    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;

    public MqttMetrics(Meter meter, MqttStore store, Func<bool> isConnected)
    {
        _requests = meter.CreateCounter<long>("dsedge_mqtt_requests_total", description: "MQTT requests by what became of them (accepted, answered_before, in_progress, invalid).");
        _published = meter.CreateCounter<long>("dsedge_mqtt_answers_published_total", description: "Answers the broker acknowledged (PUBACK).");
        _dropped = meter.CreateCounter<long>("dsedge_mqtt_outbox_dropped_total", description: "Answers dropped, oldest first, because the outbox was full.");
        meter.CreateObservableGauge("dsedge_mqtt_connected", () => isConnected() ? 1 : 0, description: "1 while connected to the broker.");
        meter.CreateObservableGauge("dsedge_mqtt_outbox_messages", () => store.OutboxSize.Messages, description: "Answers waiting for the broker's acknowledgement.");
        meter.CreateObservableGauge("dsedge_mqtt_inbox_messages", () => store.InboxCount, description: "Requests received and not yet answered.");
    }

    public void CountRequest(string result) => _requests.Add(1, new KeyValuePair<string, object?>("result", result));

    public void CountPublished() => _published.Add(1);

    public void CountDropped(int count) => _dropped.Add(count);
}
