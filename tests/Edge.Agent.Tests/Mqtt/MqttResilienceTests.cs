using MQTTnet.Formatter;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>Store-and-forward under a broker that goes away and a daemon that is killed.</summary>
[TestClass]
public sealed class MqttResilienceTests
{
    [TestMethod]
    public async Task TheBrokerDiesWhileAnswersAreProducedAndEveryRequestGetsExactlyOneAnswer()
    {
        await using var setup = await MqttSetup.StartAsync(MqttProtocolVersion.V500, persistentEquipment: true);
        var ids = Enumerable.Range(0, 50).Select(i => $"outage-{i}").ToList();
        foreach (string id in ids)
            await setup.RequestAsync($$"""{"id":"{{id}}","prompt":"Report {{id}}","max_tokens":48,"ignore_eos":true}""");
        await setup.Equipment.WaitForCountAsync(IsAnswer, 3);

        setup.Broker.Stop();
        int beforeOutage = setup.Equipment.Received.Count(IsAnswer);
        await Task.Delay(TimeSpan.FromSeconds(5));
        setup.Broker.Resume();

        await setup.Equipment.WaitForCountAsync(IsAnswer, 50, TimeSpan.FromSeconds(120));
        await Task.Delay(1000); // room for late duplicates, which must then match
        var answers = setup.Equipment.Received.Where(IsAnswer).GroupBy(m => m.Topic).ToList();
        CollectionAssert.AreEquivalent(ids.Select(id => $"{setup.Root}/response/{id}").ToList(), answers.Select(g => g.Key).ToList());
        foreach (var copies in answers)
            Assert.AreEqual(1, copies.Select(m => m.Payload).Distinct().Count(), $"{copies.Key} arrived with different contents");
        Assert.IsLessThan(50, beforeOutage, "the broker went down after every answer was out: the outage tested nothing");

        static bool IsAnswer(ReceivedMessage m) => m.Topic.Contains("/response/outage-", StringComparison.Ordinal);
    }

    [TestMethod]
    public async Task AnswersInTheOutboxOfAKilledDaemonAreDeliveredAfterItsRestart()
    {
        using var broker = MosquittoBroker.Start();
        string deviceId = $"kill-{Guid.NewGuid():N}"[..16];
        string root = $"deepseek-edge/{deviceId}";
        string state = Directory.CreateTempSubdirectory("dsedge-mqtt-kill").FullName;
        await using var equipment = await MqttTestClient.ConnectAsync(broker.Port, persistent: true);
        await equipment.SubscribeAsync($"{root}/#");
        string[] configuration = MqttSetup.DaemonConfiguration(broker.Port, deviceId);

        var ids = Enumerable.Range(0, 20).Select(i => $"k{i}").ToList();
        using (var daemon = await DaemonProcess.StartAsync(state, configuration))
        {
            await equipment.WaitForAsync(m => m.Topic == $"{root}/status" && m.Payload.Contains("\"online\"", StringComparison.Ordinal));
            foreach (string id in ids)
                await equipment.PublishAsync($"{root}/request", $$"""{"id":"{{id}}","prompt":"Shift report {{id}}","max_tokens":400,"ignore_eos":true,"stop":[]}""");
            while (await daemon.MetricAsync("dsedge_mqtt_requests_total{result=\"accepted\"}") < ids.Count)
                await Task.Delay(10);
            broker.Stop(); // answers now pile up in the outbox
            while (await daemon.MetricAsync("dsedge_mqtt_inbox_messages") > 0)
                await Task.Delay(50);
            double waiting = await daemon.MetricAsync("dsedge_mqtt_outbox_messages");
            Assert.IsGreaterThan(0, waiting, "every answer was out before the broker stopped: nothing to test");
            daemon.Kill();
        }

        broker.Resume();
        using (var restarted = await DaemonProcess.StartAsync(state, configuration))
        {
            var answers = await equipment.WaitForCountAsync(m => m.Topic.StartsWith($"{root}/response/", StringComparison.Ordinal), ids.Count, TimeSpan.FromSeconds(60));
            CollectionAssert.AreEquivalent(ids, answers.Select(m => m.Json.GetProperty("id").GetString()).Distinct().ToList());

            // The Last Will: killed while connected, the broker marks the device offline.
            await equipment.WaitForAsync(m => m.Topic == $"{root}/status" && m.Payload.Contains("\"online\"", StringComparison.Ordinal));
            int before = equipment.Received.Count;
            restarted.Kill();
            await equipment.WaitForAsync(m => m.Topic == $"{root}/status" && m.Payload.Contains("\"offline\"", StringComparison.Ordinal)
                && equipment.Received.Skip(before).Contains(m));
        }
        Directory.Delete(state, recursive: true);
    }
}
