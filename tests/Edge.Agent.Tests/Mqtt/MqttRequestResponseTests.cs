using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet.Formatter;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>Requests and answers through a real mosquitto, from an MQTTnet client playing the equipment.</summary>
[TestClass]
public sealed class MqttRequestResponseTests
{
    [TestMethod]
    public async Task AnswersOnTheResponseTopicWithTheCorrelationDataAndTheSameTextAsHttp()
    {
        await using var setup = await MqttSetup.StartAsync();
        byte[] correlation = [1, 2, 3, 250];
        await setup.RequestAsync("""{"id":"r1","prompt":"Hello","max_tokens":6,"ignore_eos":true}""", "replies/station-7", correlation);
        var answer = await setup.Equipment.WaitForAsync(m => m.Topic == "replies/station-7");

        CollectionAssert.AreEqual(correlation, answer.CorrelationData);
        var json = answer.Json;
        Assert.AreEqual("r1", json.GetProperty("id").GetString());
        Assert.AreEqual("text_completion", json.GetProperty("object").GetString());
        Assert.AreEqual(6, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var http = await setup.Daemon.Client.PostAsJsonAsync("/v1/completions", new { prompt = "Hello", max_tokens = 6, ignore_eos = true });
        using var httpJson = JsonDocument.Parse(await http.Content.ReadAsStringAsync());
        Assert.AreEqual(httpJson.RootElement.GetProperty("choices")[0].GetProperty("text").GetString(), json.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [TestMethod]
    public async Task AnswersAChatRequestFromAnMqtt311ClientOnTheDeviceResponseTopic()
    {
        await using var setup = await MqttSetup.StartAsync(MqttProtocolVersion.V311);
        await setup.RequestAsync("""{"id":"chat-1","messages":[{"role":"user","content":"Status of line 3?"}],"max_tokens":4,"ignore_eos":true}""");
        var json = (await setup.AnswerAsync("chat-1")).Json;
        Assert.AreEqual("chat.completion", json.GetProperty("object").GetString());
        Assert.AreEqual("assistant", json.GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
        Assert.AreEqual(4, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // response_format travels over MQTT too: the answer is a JSON object that parses.
        await setup.RequestAsync("""{"id":"chat-json","messages":[{"role":"user","content":"Which valve? JSON."}],"max_tokens":40,"temperature":1.2,"seed":5,"response_format":{"type":"json_object"}}""");
        var answer = (await setup.AnswerAsync("chat-json")).Json.GetProperty("choices")[0];
        Assert.AreEqual("stop", answer.GetProperty("finish_reason").GetString());
        using var content = System.Text.Json.JsonDocument.Parse(answer.GetProperty("message").GetProperty("content").GetString()!);
        Assert.AreEqual(System.Text.Json.JsonValueKind.Object, content.RootElement.ValueKind);

        // And a JSON schema: the answer validates against it (Ajv).
        const string schema = """{"type":"object","properties":{"line":{"type":"integer","minimum":1,"maximum":9},"state":{"enum":["running","stopped"]}},"required":["line","state"],"additionalProperties":false}""";
        await setup.RequestAsync("""{"id":"chat-schema","messages":[{"role":"user","content":"Line status?"}],"max_tokens":40,"temperature":1.2,"seed":5,"response_format":{"type":"json_schema","json_schema":{"name":"line","strict":true,"schema":"""
            + schema + "}}}");
        var schemaAnswer = (await setup.AnswerAsync("chat-schema")).Json.GetProperty("choices")[0];
        Assert.AreEqual("stop", schemaAnswer.GetProperty("finish_reason").GetString());
        var verdict = Edge.TestSupport.SchemaValidator.Validate(schema, [schemaAnswer.GetProperty("message").GetProperty("content").GetString()!])[0];
        Assert.IsTrue(verdict.Valid, $"{verdict.Document}: {verdict.Errors}");

        // And tools: a named function's call comes back as tool_calls, its arguments valid.
        await setup.RequestAsync("""{"id":"chat-tool","messages":[{"role":"user","content":"Stop line 3."}],"max_tokens":60,"temperature":1.2,"seed":2,"tools":[{"type":"function","function":{"name":"stop_line","parameters":"""
            + schema + """}}],"tool_choice":{"type":"function","function":{"name":"stop_line"}}}""");
        var toolAnswer = (await setup.AnswerAsync("chat-tool")).Json.GetProperty("choices")[0];
        Assert.AreEqual("tool_calls", toolAnswer.GetProperty("finish_reason").GetString());
        var call = toolAnswer.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.AreEqual("stop_line", call.GetProperty("name").GetString());
        var arguments = Edge.TestSupport.SchemaValidator.Validate(schema, [call.GetProperty("arguments").GetString()!])[0];
        Assert.IsTrue(arguments.Valid, $"{arguments.Document}: {arguments.Errors}");

        // And logprobs: one entry per output token, each with its top list.
        await setup.RequestAsync("""{"id":"chat-logprobs","messages":[{"role":"user","content":"Status of line 3?"}],"max_tokens":5,"ignore_eos":true,"logprobs":true,"top_logprobs":2}""");
        var logprobs = (await setup.AnswerAsync("chat-logprobs")).Json.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.AreEqual(5, logprobs.GetArrayLength());
        foreach (var token in logprobs.EnumerateArray())
        {
            Assert.IsTrue(token.GetProperty("logprob").GetDouble() <= 0);
            Assert.AreEqual(2, token.GetProperty("top_logprobs").GetArrayLength());
        }
    }

    [TestMethod]
    public async Task ADaemonOnMqtt311AnswersToo()
    {
        await using var setup = await MqttSetup.StartAsync(MqttProtocolVersion.V311, daemonConfiguration: "--Mqtt:ProtocolVersion=3.1.1");
        await setup.RequestAsync("""{"id":"old-1","prompt":"Hello","max_tokens":3,"ignore_eos":true}""");
        Assert.AreEqual(3, (await setup.AnswerAsync("old-1")).Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [TestMethod]
    public async Task PublishesARetainedOnlineStatusWithTheModelAndAnOfflineOneOnStop()
    {
        var setup = await MqttSetup.StartAsync();
        await using (setup)
        {
            var status = (await setup.WaitOnlineAsync()).Json;
            Assert.AreEqual(setup.DeviceId, status.GetProperty("device").GetString());
            Assert.IsFalse(string.IsNullOrEmpty(status.GetProperty("version").GetString()));
            Assert.AreEqual("cpu", status.GetProperty("provider").GetString());
            Assert.IsTrue(status.TryGetProperty("queue_depth", out _));

            // A late subscriber sees the retained status.
            await using var late = await MqttTestClient.ConnectAsync(setup.Broker.Port);
            await late.SubscribeAsync($"{setup.Root}/status");
            Assert.IsTrue((await late.WaitForAsync(m => m.Topic == $"{setup.Root}/status")).Retain);

            await setup.Daemon.DisposeAsync();
            await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/status" && m.Payload.Contains("\"offline\"", StringComparison.Ordinal));
        }
    }

    [TestMethod]
    public async Task StreamsNumberedDeltasThenTheFinalAnswer()
    {
        await using var setup = await MqttSetup.StartAsync();
        await setup.RequestAsync("""{"id":"s1","prompt":"Hello","max_tokens":12,"ignore_eos":true,"stream":true}""");
        var final = (await setup.AnswerAsync("s1")).Json;
        var deltas = setup.Equipment.Received.Where(m => m.Topic == $"{setup.Root}/response/s1/stream").Select(m => m.Json).ToList();
        Assert.IsNotEmpty(deltas);
        CollectionAssert.AreEqual(Enumerable.Range(0, deltas.Count).Select(i => (long)i).ToList(), deltas.Select(d => d.GetProperty("sequence").GetInt64()).ToList());
        Assert.AreEqual(final.GetProperty("choices")[0].GetProperty("text").GetString(), string.Concat(deltas.Select(d => d.GetProperty("delta").GetString())));
    }

    [TestMethod]
    public async Task ARepeatedIdIsAnsweredOnceAndTheStoredAnswerSentAgain()
    {
        await using var setup = await MqttSetup.StartAsync();
        const string request = """{"id":"dup-1","prompt":"Hello","max_tokens":5,"ignore_eos":true,"temperature":1.0}""";
        await setup.RequestAsync(request);
        var first = await setup.AnswerAsync("dup-1");
        await setup.RequestAsync(request);
        var both = await setup.Equipment.WaitForCountAsync(m => m.Topic == $"{setup.Root}/response/dup-1", 2);
        Assert.AreEqual(first.Payload, both[1].Payload, "a sampled answer generated twice would differ");
        string metrics = await setup.Daemon.Client.GetStringAsync("/metrics");
        StringAssert.Contains(metrics, "dsedge_mqtt_requests_total{result=\"answered_before\"} 1");
        StringAssert.Contains(metrics, "dsedge_mqtt_requests_total{result=\"accepted\"} 1");
    }

    [TestMethod]
    public async Task AHundredRequestsInFlightAllGetTheirAnswer()
    {
        await using var setup = await MqttSetup.StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => setup.RequestAsync($$"""{"id":"many-{{i}}","prompt":"Request {{i}}","max_tokens":8,"ignore_eos":true}""")));
        var answers = await setup.Equipment.WaitForCountAsync(m => m.Topic.Contains("/response/many-", StringComparison.Ordinal), 100, TimeSpan.FromSeconds(120));
        var ids = answers.Select(m => m.Json.GetProperty("id").GetString()).ToHashSet();
        Assert.HasCount(100, ids);
        Assert.IsTrue(answers.All(m => m.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() == 8));
    }

    [TestMethod]
    public async Task MalformedRequestsAreAnsweredWithErrorsAndTheDeviceKeepsWorking()
    {
        await using var setup = await MqttSetup.StartAsync(daemonConfiguration: "--Mqtt:MaxPayloadBytes=4096");
        string errors = $"{setup.Root}/errors";
        var cases = new (string Payload, string? ResponseTopic, string Topic, string Expect)[]
        {
            ("this is not json", null, errors, "not valid JSON"),
            ("[1,2,3]", null, errors, "JSON object"),
            ("""{"prompt":"Hello"}""", null, errors, "'id' is required"),
            ("""{"id":42,"prompt":"Hello"}""", null, errors, "'id' must be a string"),
            ("""{"id":"a/b","prompt":"Hello"}""", null, errors, "topic level"),
            ("""{"id":"bad-types","prompt":"Hello","max_tokens":"ten"}""", null, $"{setup.Root}/response/bad-types", "'max_tokens' must be an integer"),
            ("""{"id":"no-prompt"}""", null, $"{setup.Root}/response/no-prompt", "'prompt' is required"),
            ("""{"id":"bad-messages","messages":"hi"}""", null, $"{setup.Root}/response/bad-messages", "'messages' must be an array"),
            ("""{"id":"unknown","prompt":"Hello","frobnicate":1}""", null, $"{setup.Root}/response/unknown", "'frobnicate' is not supported"),
            ("""{"id":"too-long","prompt":"Hello","max_tokens":100000,"ignore_eos":true}""", null, $"{setup.Root}/response/too-long", "max_tokens"),
            ("""{"id":"hot","prompt":"Hello","temperature":-1}""", "replies/errs", "replies/errs", "temperature"),
            ("""{"id":"other-model","prompt":"Hello","model":"gpt-4o"}""", null, $"{setup.Root}/response/other-model", "\"code\":\"model_not_found\""),
            ($$"""{"id":"huge","prompt":"{{new string('x', 10_000)}}"}""", "replies/huge", "replies/huge", "limit is 4096"),
        };
        foreach (var (payload, responseTopic, _, _) in cases)
            await setup.RequestAsync(payload, responseTopic);
        await setup.Equipment.PublishAsync($"{setup.Root}/request", [0xC3, 0x28, 0x7B]); // invalid UTF-8
        foreach (var (payload, _, topic, expect) in cases)
        {
            var error = await setup.Equipment.WaitForAsync(m => m.Topic == topic && m.Payload.Contains(expect, StringComparison.Ordinal));
            Assert.AreEqual("invalid_request_error", error.Json.GetProperty("error").GetProperty("type").GetString(), payload);
        }
        await setup.Equipment.WaitForAsync(m => m.Topic == errors && m.Payload.Contains("UTF-8", StringComparison.Ordinal));

        await setup.RequestAsync("""{"id":"after","prompt":"Hello","max_tokens":2,"ignore_eos":true}""");
        Assert.AreEqual(2, (await setup.AnswerAsync("after")).Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.IsEmpty(setup.Daemon.LoggedProblems.Where(p => p.StartsWith("Error", StringComparison.Ordinal)), string.Join("\n", setup.Daemon.LoggedProblems));
    }
}
