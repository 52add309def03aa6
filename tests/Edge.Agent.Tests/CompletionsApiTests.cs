using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Inference;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>POST /v1/completions over real HTTP on loopback against the embedded default model.</summary>
[TestClass]
public sealed class CompletionsApiTests
{
    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync();

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    [TestMethod]
    public async Task AnswersInOpenAiShapeWithTheRequestedTokenCount()
    {
        using var response = await PostAsync("""{"prompt":"Hello","max_tokens":16,"ignore_eos":true}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.AreEqual("text_completion", root.GetProperty("object").GetString());
        Assert.AreEqual("deepseek-edge", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.AreEqual(0, choice.GetProperty("index").GetInt32());
        Assert.IsFalse(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        var usage = root.GetProperty("usage");
        int completionTokens = usage.GetProperty("completion_tokens").GetInt32();
        Assert.AreEqual(usage.GetProperty("prompt_tokens").GetInt32() + completionTokens, usage.GetProperty("total_tokens").GetInt32());
        Assert.AreEqual(16, completionTokens);
        Assert.AreEqual("length", choice.GetProperty("finish_reason").GetString());
    }

    [TestMethod]
    public async Task TheEndOfSequenceTokenEndsAnAnswerUnlessIgnoreEosIsSet()
    {
        using var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var natural = engine.Complete("Thank you.", new GenerationSettings { MaxTokens = 64 });
        Assert.AreEqual(FinishReason.Stop, natural.FinishReason, "precondition: the default model ends its answer to 'Thank you.' within 64 tokens");

        using var ended = JsonDocument.Parse(await (await PostAsync("""{"prompt":"Thank you.","max_tokens":64}""")).Content.ReadAsStringAsync());
        Assert.AreEqual(natural.CompletionIds.Count, ended.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.AreEqual("stop", ended.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        using var full = JsonDocument.Parse(await (await PostAsync("""{"prompt":"Thank you.","max_tokens":64,"ignore_eos":true}""")).Content.ReadAsStringAsync());
        Assert.AreEqual(64, full.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.AreEqual("length", full.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [TestMethod]
    public async Task TheAnswerIsTheEnginesGreedyCompletion()
    {
        using var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var expected = engine.Complete("The pump on line 3", new GenerationSettings { MaxTokens = 12, StopAtEos = false });
        using var response = await PostAsync("""{"model":"deepseek-edge","prompt":"The pump on line 3","max_tokens":12,"ignore_eos":true,"temperature":0,"n":1,"stream":false}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual(expected.Text, json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.AreEqual(expected.PromptIds.Count, json.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    /// <summary>The legacy logprobs shape, whole and streamed: tokens spell the text, offsets count characters; and echo puts the prompt first.</summary>
    [TestMethod]
    public async Task LegacyLogprobsAndEcho()
    {
        using var response = await PostAsync("""{"prompt":"The machine status is","max_tokens":6,"ignore_eos":true,"logprobs":2}""");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = json.RootElement.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.AreEqual(6, tokens.Count);
        Assert.AreEqual(choice.GetProperty("text").GetString(), string.Concat(tokens));
        Assert.AreEqual(6, logprobs.GetProperty("token_logprobs").GetArrayLength());
        Assert.IsTrue(logprobs.GetProperty("top_logprobs").EnumerateArray().All(t => t.EnumerateObject().Count() is >= 1 and <= 2));
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToList();
        Assert.AreEqual(0, offsets[0]);
        for (int k = 1; k < offsets.Count; k++)
            Assert.AreEqual(offsets[k - 1] + tokens[k - 1]!.Length, offsets[k]);

        using var stream = await PostAsync("""{"prompt":"The machine status is","max_tokens":6,"ignore_eos":true,"logprobs":2,"stream":true}""");
        var streamedTokens = (await stream.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("choices")).Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("logprobs").ValueKind == JsonValueKind.Object)
            .SelectMany(c => c[0].GetProperty("logprobs").GetProperty("tokens").EnumerateArray().Select(t => t.GetString())).ToList();
        CollectionAssert.AreEqual(tokens, streamedTokens);

        using var echo = await PostAsync("""{"prompt":"The machine status is","max_tokens":4,"echo":true}""");
        using var echoed = JsonDocument.Parse(await echo.Content.ReadAsStringAsync());
        StringAssert.StartsWith(echoed.RootElement.GetProperty("choices")[0].GetProperty("text").GetString(), "The machine status is");
    }

    /// <summary>guided_regex (vLLM's name): the whole answer matches the regex, sampled hot, whole and streamed.</summary>
    [TestMethod]
    public async Task GuidedRegexAnswersMatchTheRegex()
    {
        const string regex = @"V-[0-9]{2,3} (open|close)";
        var whole = new System.Text.RegularExpressions.Regex("^(?:" + regex + ")$");
        for (int seed = 0; seed < 4; seed++)
        {
            string body = System.Text.Json.JsonSerializer.Serialize(new System.Text.Json.Nodes.JsonObject
            {
                ["prompt"] = "Valve 12 is leaking. Order:", ["max_tokens"] = 16, ["temperature"] = 1.5, ["seed"] = seed, ["guided_regex"] = regex,
            });
            using var response = await PostAsync(body);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            string text = json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
            Assert.IsTrue(whole.IsMatch(text), text);
        }
    }

    /// <summary>guided_choice (vLLM's name): the answer is one of the choices, sampled hot, whole and streamed.</summary>
    [TestMethod]
    public async Task GuidedChoiceAnswersWithOneOfTheChoices()
    {
        string[] choices = ["open", "close", "hold"];
        for (int seed = 0; seed < 4; seed++)
        {
            using var response = await PostAsync($$"""{"prompt":"Valve 12 is leaking. Action:","max_tokens":8,"temperature":1.5,"seed":{{seed}},"guided_choice":["open","close","hold"]}""");
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            CollectionAssert.Contains(choices, json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
            Assert.AreEqual("stop", json.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        }
    }

    [TestMethod]
    [DataRow("not json", null, "not valid JSON")]
    [DataRow("", null, "not valid JSON")]
    [DataRow("[1,2]", null, "JSON object")]
    [DataRow("""{"max_tokens":3}""", "prompt", "'prompt' is required")]
    [DataRow("""{"prompt":null}""", "prompt", "'prompt' is required")]
    [DataRow("""{"prompt":""}""", "prompt", "empty")]
    [DataRow("""{"prompt":42}""", "prompt", "must be a string")]
    [DataRow("""{"prompt":["a","b"]}""", "prompt", "must be a string")]
    [DataRow("""{"prompt":"x","max_tokens":-1}""", "max_tokens", "at least 1")]
    [DataRow("""{"prompt":"x","max_tokens":0}""", "max_tokens", "at least 1")]
    [DataRow("""{"prompt":"x","max_tokens":"8"}""", "max_tokens", "must be an integer")]
    [DataRow("""{"prompt":"x","max_tokens":1.5}""", "max_tokens", "must be an integer")]
    [DataRow("""{"prompt":"x","max_tokens":1e12}""", "max_tokens", "must be an integer")]
    [DataRow("""{"prompt":"x","max_tokens":5000}""", "max_tokens", "context length")]
    [DataRow("""{"prompt":"x","model":7}""", "model", "must be a string")]
    [DataRow("""{"prompt":"x","ignore_eos":"yes"}""", "ignore_eos", "must be a boolean")]
    [DataRow("""{"prompt":"x","n":99}""", "n", "'n' must be from 1 to 16")]
    [DataRow("""{"prompt":"x","stream_options":{"include_usage":true}}""", "stream_options", "only allowed")]
    [DataRow("""{"prompt":"x","stream":true,"stream_options":[]}""", "stream_options", "must be an object")]
    [DataRow("""{"prompt":"x","stream":"yes"}""", "stream", "must be a boolean")]
    [DataRow("""{"prompt":"x","temperature":-1}""", "temperature", "0 or more")]
    [DataRow("""{"prompt":"x","temperature":"hot"}""", "temperature", "must be a number")]
    [DataRow("""{"prompt":"x","top_p":0}""", "top_p", "(0, 1]")]
    [DataRow("""{"prompt":"x","top_p":1.5}""", "top_p", "(0, 1]")]
    [DataRow("""{"prompt":"x","top_k":-3}""", "top_k", "top_k")]
    [DataRow("""{"prompt":"x","presence_penalty":9}""", "presence_penalty", "[-2, 2]")]
    [DataRow("""{"prompt":"x","frequency_penalty":-9}""", "frequency_penalty", "[-2, 2]")]
    [DataRow("""{"prompt":"x","seed":"a"}""", "seed", "must be an integer")]
    [DataRow("""{"prompt":"x","stop":""}""", "stop", "must not be empty")]
    [DataRow("""{"prompt":"x","stop":[1]}""", "stop", "only strings")]
    [DataRow("""{"prompt":"x","stop":{}}""", "stop", "string or an array")]
    [DataRow("""{"prompt":"x","guided_choice":"open"}""", "guided_choice", "an array of strings")]
    [DataRow("""{"prompt":"x","echo":true,"logprobs":1}""", "echo", "prompt's log probabilities")]
    [DataRow("""{"prompt":"x","logprobs":true}""", "logprobs", "must be an integer")]
    [DataRow("""{"prompt":"x","guided_choice":["open",3]}""", "guided_choice", "only strings")]
    [DataRow("""{"prompt":"x","guided_choice":["open",""]}""", "guided_choice", "1 to 256")]
    [DataRow("""{"prompt":"x","guided_choice":["a"],"response_format":{"type":"json_object"}}""", "guided_choice", "cannot be combined")]
    public async Task RefusesBadRequestsWithAnOpenAiErrorNamingTheProblem(string body, string? param, string messagePart)
    {
        using var response = await PostAsync(body);
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        StringAssert.Contains(error.GetProperty("message").GetString(), messagePart);
        Assert.AreEqual("invalid_request_error", error.GetProperty("type").GetString());
        Assert.AreEqual(param, error.GetProperty("param").GetString());
        await AssertStillServingAsync();
    }

    [TestMethod]
    public async Task RefusesAPromptLongerThanTheContext()
    {
        string prompt = string.Concat(Enumerable.Repeat("word ", 1100));
        using var response = await PostAsync(JsonSerializer.Serialize(new { prompt, max_tokens = 1, ignore_eos = true }));
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        StringAssert.Contains(json.RootElement.GetProperty("error").GetProperty("message").GetString(), "exceeds the model's context length of 1024 tokens");
        Assert.AreEqual("prompt", json.RootElement.GetProperty("error").GetProperty("param").GetString());
        await AssertStillServingAsync();
    }

    [TestMethod]
    public async Task RefusesAnOversizedBodyWith413()
    {
        string prompt = new('a', 2 << 20);
        // As curl does for large bodies: wait for the server's go-ahead, so a refusal is not a
        // race with the upload (without it the client may see a broken pipe instead of the 413).
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { prompt }), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await s_daemon.Client.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertStillServingAsync();
    }

    [TestMethod]
    public async Task StreamsServerSentEventsThatAddUpToTheSameCompletion()
    {
        const string request = "\"prompt\":\"Pressure at valve 7\",\"max_tokens\":12,\"ignore_eos\":true,\"temperature\":0.9,\"seed\":5";
        using var whole = await PostAsync("{" + request + "}");
        using var wholeJson = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        string expected = wholeJson.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;

        using var streamed = await PostAsync("{" + request + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        Assert.AreEqual(HttpStatusCode.OK, streamed.StatusCode);
        Assert.AreEqual("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.IsTrue(events.All(e => e.StartsWith("data: ", StringComparison.Ordinal)));
        Assert.AreEqual("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        var withChoices = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).ToList();
        Assert.AreEqual(expected, string.Concat(withChoices.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.AreEqual("length", withChoices[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.IsTrue(withChoices[..^1].All(c => c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.Null));
        var usage = chunks[^1];
        Assert.AreEqual(0, usage.GetProperty("choices").GetArrayLength());
        Assert.AreEqual(12, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.IsTrue(chunks.All(c => c.GetProperty("id").GetString() == chunks[0].GetProperty("id").GetString()));
    }

    [TestMethod]
    public async Task TheSameSeedGivesTheSameSampledText()
    {
        const string body = """{"prompt":"Shift report","max_tokens":10,"ignore_eos":true,"temperature":1.2,"top_p":0.9,"seed":123}""";
        using var first = await PostAsync(body);
        using var second = await PostAsync(body);
        using var a = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        using var b = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.AreEqual(a.RootElement.GetProperty("choices")[0].GetProperty("text").GetString(), b.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [TestMethod]
    public async Task HealthzAnswers()
    {
        using var response = await s_daemon.Client.GetAsync("/healthz");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        StringAssert.Contains(await response.Content.ReadAsStringAsync(), "\"ok\"");
    }

    private static Task<HttpResponseMessage> PostAsync(string body) =>
        s_daemon.Client.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));

    private static async Task AssertStillServingAsync()
    {
        using var response = await PostAsync("""{"prompt":"still there?","max_tokens":2,"ignore_eos":true}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
