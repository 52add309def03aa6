using System.Net;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests.Clients;

/// <summary>Ollama's API over raw HTTP: NDJSON framing, its error shape everywhere (auth included), its defaults, and hostile forms of its fields.</summary>
[TestClass]
public sealed class OllamaApiTests
{
    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync();

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    private static Task<HttpResponseMessage> PostAsync(string path, string body) =>
        s_daemon.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>stream defaults to true: NDJSON, one object per line, the last done with the counts.</summary>
    [TestMethod]
    public async Task ChatStreamsNdjsonByDefault()
    {
        using var response = await PostAsync("/api/chat", """{"model":"deepseek-edge","messages":[{"role":"user","content":"Status?"}],"options":{"num_predict":5,"temperature":0}}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.IsTrue(lines.Length >= 2);
        var docs = lines.Select(l => JsonDocument.Parse(l)).ToList();
        Assert.IsTrue(docs.Take(docs.Count - 1).All(d => !d.RootElement.GetProperty("done").GetBoolean()));
        var last = docs[^1].RootElement;
        Assert.IsTrue(last.GetProperty("done").GetBoolean());
        Assert.AreEqual(5, last.GetProperty("eval_count").GetInt32());
        Assert.AreEqual("assistant", docs[0].RootElement.GetProperty("message").GetProperty("role").GetString());
        docs.ForEach(d => d.Dispose());
    }

    /// <summary>Without num_predict a generation runs to the end token or the context's end, never refused for length.</summary>
    [TestMethod]
    public async Task WithoutNumPredictTheAnswerRunsToItsEnd()
    {
        using var response = await PostAsync("/api/generate", """{"prompt":"The oven","raw":true,"stream":false,"options":{"temperature":0}}""");
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.IsTrue(json.RootElement.GetProperty("done").GetBoolean());
        Assert.IsTrue(json.RootElement.GetProperty("eval_count").GetInt32() >= 1);
    }

    /// <summary>Tools in Ollama's shape, and a history with a call (arguments as an object) and its result, are taken.</summary>
    [TestMethod]
    public async Task ChatTakesToolsAndAHistoryWithToolCalls()
    {
        using var response = await PostAsync("/api/chat", """
            {"stream":false,"options":{"num_predict":12},
             "tools":[{"type":"function","function":{"name":"read_sensor","description":"Reads a sensor","parameters":{"type":"object","properties":{"sensor":{"type":"integer"}},"required":["sensor"]}}}],
             "messages":[{"role":"user","content":"Pressure at sensor 4?"},
                         {"role":"assistant","content":"","tool_calls":[{"function":{"name":"read_sensor","arguments":{"sensor":4}}}]},
                         {"role":"tool","content":"6.2 bar","tool_name":"read_sensor"}]}
            """);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var message = json.RootElement.GetProperty("message");
        Assert.AreEqual("assistant", message.GetProperty("role").GetString());
        if (message.TryGetProperty("tool_calls", out var calls))
            Assert.IsTrue(calls.EnumerateArray().All(c => c.GetProperty("function").GetProperty("arguments").ValueKind == JsonValueKind.Object));
    }

    [TestMethod]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x","images":["aGk="]}]}""", "text models only")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}""", "function' is required")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"format":"yaml"}""", "'format' must be")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"format":{"type":"string","format":"hostname"}}""", "hostname")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"options":{"num_predict":0}}""", "num_predict")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"options":{"num_predict":99999999999}}""", "num_predict")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"options":{"typical_p":0.5}}""", "options.typical_p")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"options":{"temperature":-1}}""", "temperature")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x"}],"options":"hot"}""", "'options' must be an object")]
    [DataRow("/api/chat", """{"messages":[{"role":"user","content":"x","mood":"ok"}]}""", "mood' is not supported")]
    [DataRow("/api/chat", """{"messages":"hi"}""", "'messages' is required")]
    [DataRow("/api/chat", """{"model":"Deepseek-Edge","messages":[{"role":"user","content":"x"}]}""", "Deepseek-Edge")]
    [DataRow("/api/generate", """{"prompt":"x","suffix":"y"}""", "'suffix' is not supported")]
    [DataRow("/api/generate", """{"prompt":"x","context":[1,2,3]}""", "'context' is not supported")]
    [DataRow("/api/generate", """{"prompt":"x","template":"{{ .Prompt }}"}""", "'template' is not supported")]
    [DataRow("/api/generate", """{"prompt":"x","raw":true,"system":"be brief"}""", "'system' needs")]
    [DataRow("/api/generate", """{"prompt":"x","frobnicate":1}""", "'frobnicate' is not supported")]
    [DataRow("/api/generate", """[1]""", "must be a JSON object")]
    [DataRow("/api/show", """{"model":"other"}""", "other")]
    public async Task RefusesInOllamasShapeNamingTheProblem(string path, string body, string messagePart)
    {
        using var response = await PostAsync(path, body);
        Assert.IsTrue(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{response.StatusCode}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual(JsonValueKind.String, json.RootElement.GetProperty("error").ValueKind, "Ollama's error is a string");
        StringAssert.Contains(json.RootElement.GetProperty("error").GetString(), messagePart);
    }

    /// <summary>Authorization answers in the route's shape too: an Ollama client sees a string error, not an object.</summary>
    [TestMethod]
    public async Task AWrongKeyGetsAnOllamaShapedError()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Auth:AllowAnonymousLoopback=false", $"--Auth:Keys:0:Name=plc", $"--Auth:Keys:0:Sha256={Edge.Agent.Security.ApiKeys.Hash("right-key")}", "--Auth:Keys:0:Roles:0=infer");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = new StringContent("""{"messages":[{"role":"user","content":"x"}]}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "wrong-key");
        using var response = await daemon.Client.SendAsync(request);
        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual(JsonValueKind.String, json.RootElement.GetProperty("error").ValueKind);
        // /api/version stays open, as probes use it.
        using var version = await daemon.Client.GetAsync("/api/version");
        Assert.AreEqual(HttpStatusCode.OK, version.StatusCode);
    }
}
