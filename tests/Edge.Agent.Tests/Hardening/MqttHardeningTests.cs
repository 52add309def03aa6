using Edge.Agent.Tests.Mqtt;
using MQTTnet.Formatter;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// MQTT fields an attacker controls: response topics that would loop or reach the broker,
/// request ids two machines share, replays in a loop, broken text, and a dead engine's status.
/// </summary>
[TestClass]
public sealed class MqttHardeningTests
{
    [TestMethod]
    public async Task AResponseTopicThatWouldLoopOrReachTheBrokerIsRefusedOnTheErrorTopic()
    {
        await using var setup = await MqttSetup.StartAsync();
        string[] hostile = [$"{setup.Root}/request", $"{setup.Root}/ota", "deepseek-edge/other-device/request", "deepseek-edge", "$SYS/broker/x", "replies/+/x", "replies/#"];
        int index = 0;
        foreach (string topic in hostile)
            await setup.RequestAsync($$"""{"id":"loop-{{index++}}","prompt":"Hi","max_tokens":1}""", responseTopic: topic);
        var errors = await setup.Equipment.WaitForCountAsync(m => m.Topic == $"{setup.Root}/errors", hostile.Length);
        Assert.IsTrue(errors.All(e => e.Payload.Contains("response topic", StringComparison.Ordinal)), string.Join(" | ", errors.Select(e => e.Payload)));
        await Task.Delay(1500);
        Assert.AreEqual(1, setup.Equipment.Received.Count(m => m.Topic == $"{setup.Root}/request" && m.Payload.Contains("loop-0", StringComparison.Ordinal)),
            "the request was not answered onto the request topic (which would loop for ever)");
        await setup.RequestAsync("""{"id":"after","prompt":"Hi","max_tokens":1}""");
        await setup.AnswerAsync("after");
    }

    [TestMethod]
    public async Task HugeCorrelationDataIsRefusedNotStoredAndEchoed()
    {
        await using var setup = await MqttSetup.StartAsync();
        await setup.RequestAsync("""{"id":"fat","prompt":"Hi","max_tokens":1}""", responseTopic: "replies/fat", correlation: new byte[16 * 1024]);
        var error = await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/errors");
        StringAssert.Contains(error.Payload, "correlation data");
        Assert.IsNull(error.CorrelationData, "the oversized correlation data is not sent back");
        await Task.Delay(300);
        Assert.IsFalse(setup.Equipment.Received.Any(m => m.Topic == "replies/fat"));
    }

    [TestMethod]
    public async Task TwoMachinesUsingTheSameIdBothGetTheirAnswer()
    {
        await using var setup = await MqttSetup.StartAsync();
        await setup.RequestAsync("""{"id":"1","prompt":"Hello","max_tokens":2,"ignore_eos":true}""", responseTopic: "replies/press-1");
        await setup.RequestAsync("""{"id":"1","prompt":"Goodbye","max_tokens":3,"ignore_eos":true}""", responseTopic: "replies/press-2");
        var first = await setup.Equipment.WaitForAsync(m => m.Topic == "replies/press-1");
        var second = await setup.Equipment.WaitForAsync(m => m.Topic == "replies/press-2");
        Assert.AreEqual(2, first.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.AreEqual(3, second.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [TestMethod]
    public async Task ReplaysOfAStoredAnswerAreThrottled()
    {
        await using var setup = await MqttSetup.StartAsync();
        const string request = """{"id":"replayed","prompt":"Hi","max_tokens":1}""";
        await setup.RequestAsync(request, responseTopic: "replies/replay");
        await setup.Equipment.WaitForAsync(m => m.Topic == "replies/replay");
        for (int i = 0; i < 200; i++)
            await setup.RequestAsync(request, responseTopic: "replies/replay");
        await setup.RequestAsync("""{"id":"marker","prompt":"Hi","max_tokens":1}""", responseTopic: "replies/marker");
        await setup.Equipment.WaitForAsync(m => m.Topic == "replies/marker");
        await Task.Delay(500);
        int answers = setup.Equipment.Received.Count(m => m.Topic == "replies/replay");
        Assert.IsGreaterThan(1, answers, "a redelivered id still gets its stored answer");
        Assert.IsLessThan(100, answers, $"200 replays sent {answers} answers: the outbox amplifies a loop");
    }

    [TestMethod]
    public async Task ALoneSurrogateIsAnsweredWithAnError()
    {
        await using var setup = await MqttSetup.StartAsync();
        await setup.RequestAsync("""{"id":"surrogate","prompt":"bad \ud800 text","max_tokens":1}""");
        var answer = (await setup.AnswerAsync("surrogate")).Json;
        Assert.AreEqual("invalid_request_error", answer.GetProperty("error").GetProperty("type").GetString());
        StringAssert.Contains(answer.GetProperty("error").GetProperty("message").GetString(), "surrogate");
    }

    [TestMethod]
    public async Task ADeadEngineIsDegradedOnTheStatusTopicAndRequestsGetAServerError()
    {
        var faults = new EngineFaultTests.FaultSwitch();
        await using var setup = await MqttSetup.StartAsync(MqttProtocolVersion.V500, false, faults.Wrap, "--Cache:Enabled=false");
        faults.FailDecodes = int.MaxValue;
        faults.FailCreates = true;
        await setup.RequestAsync("""{"id":"hit","prompt":"Hello","max_tokens":5,"ignore_eos":true}""");
        var hit = (await setup.AnswerAsync("hit")).Json;
        Assert.AreEqual("server_error", hit.GetProperty("error").GetProperty("type").GetString());
        var status = await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/status" && m.Payload.Contains("\"degraded\"", StringComparison.Ordinal));
        StringAssert.Contains(status.Json.GetProperty("reason").GetString(), "stopped");
        await setup.RequestAsync("""{"id":"later","prompt":"Hello","max_tokens":5}""");
        var later = (await setup.AnswerAsync("later")).Json;
        StringAssert.Contains(later.GetProperty("error").GetProperty("message").GetString(), "stopped");
    }
}
