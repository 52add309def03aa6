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
        using var response = await PostAsync("""{"prompt":"Hello","max_tokens":16}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.AreEqual("text_completion", root.GetProperty("object").GetString());
        Assert.AreEqual("deepseek-edge-tiny", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.AreEqual(0, choice.GetProperty("index").GetInt32());
        Assert.IsFalse(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        var usage = root.GetProperty("usage");
        int completionTokens = usage.GetProperty("completion_tokens").GetInt32();
        Assert.AreEqual(usage.GetProperty("prompt_tokens").GetInt32() + completionTokens, usage.GetProperty("total_tokens").GetInt32());
        // 16 tokens unless the model chose to stop, which finish_reason then says.
        Assert.AreEqual(completionTokens == 16 ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
    }

    [TestMethod]
    public async Task TheAnswerIsTheEnginesGreedyCompletion()
    {
        using var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var expected = engine.Complete("The pump on line 3", new GenerationSettings { MaxTokens = 12 });
        using var response = await PostAsync("""{"model":"deepseek-edge-tiny","prompt":"The pump on line 3","max_tokens":12,"temperature":0,"n":1,"stream":false}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual(expected.Text, json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.AreEqual(expected.PromptIds.Count, json.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
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
    [DataRow("""{"prompt":"x","max_tokens":5000}""", null, "context length")]
    [DataRow("""{"prompt":"x","model":7}""", "model", "must be a string")]
    [DataRow("""{"prompt":"x","n":2}""", "n", "'n' must be 1")]
    [DataRow("""{"prompt":"x","stream":true}""", "stream", "not supported yet")]
    [DataRow("""{"prompt":"x","stream":"yes"}""", "stream", "must be a boolean")]
    [DataRow("""{"prompt":"x","temperature":0.7}""", "temperature", "greedy")]
    [DataRow("""{"prompt":"x","top_p":0.5}""", "top_p", "not supported")]
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
        using var response = await PostAsync(JsonSerializer.Serialize(new { prompt, max_tokens = 1 }));
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        StringAssert.Contains(await response.Content.ReadAsStringAsync(), "exceeds the model's context length of 1024 tokens");
        await AssertStillServingAsync();
    }

    [TestMethod]
    public async Task RefusesAnOversizedBodyWith413()
    {
        string prompt = new('a', 2 << 20);
        using var response = await PostAsync(JsonSerializer.Serialize(new { prompt }));
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertStillServingAsync();
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
        using var response = await PostAsync("""{"prompt":"still there?","max_tokens":2}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
