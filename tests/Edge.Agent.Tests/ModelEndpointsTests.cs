using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>/v1/models, /v1/tokenize, /v1/detokenize and /readyz over loopback.</summary>
[TestClass]
public sealed class ModelEndpointsTests
{
    private static LiveDaemon s_daemon = null!;
    private static ModelTokenizer s_tokenizer = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _)
    {
        s_daemon = await LiveDaemon.StartAsync();
        s_tokenizer = ModelTokenizer.Load(RepositoryPaths.DefaultModel);
    }

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    [TestMethod]
    public async Task ListsTheLoadedModel()
    {
        using var json = JsonDocument.Parse(await s_daemon.Client.GetStringAsync("/v1/models"));
        Assert.AreEqual("list", json.RootElement.GetProperty("object").GetString());
        var model = json.RootElement.GetProperty("data")[0];
        Assert.AreEqual("deepseek-edge", model.GetProperty("id").GetString());
        Assert.AreEqual(1024, model.GetProperty("max_model_len").GetInt32());
    }

    [TestMethod]
    public async Task ReadyzNamesModelVersionAndProvider()
    {
        using var json = JsonDocument.Parse(await s_daemon.Client.GetStringAsync("/readyz"));
        Assert.AreEqual("ready", json.RootElement.GetProperty("status").GetString());
        Assert.AreEqual("0.1.0", json.RootElement.GetProperty("version").GetString());
        Assert.AreEqual("cpu", json.RootElement.GetProperty("provider").GetString());
    }

    [TestMethod]
    public async Task TokenizeAndDetokenizeRoundTrip()
    {
        const string text = "Line 3: 温度 78°C 🚀";
        using var tokenized = await PostAsync("/v1/tokenize", JsonSerializer.Serialize(new { prompt = text }));
        using var tokens = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync());
        int[] ids = tokens.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        CollectionAssert.AreEqual(s_tokenizer.Encode(text), ids);
        Assert.AreEqual(ids.Length, tokens.RootElement.GetProperty("count").GetInt32());

        using var detokenized = await PostAsync("/v1/detokenize", JsonSerializer.Serialize(new { tokens = ids[1..] }));
        using var back = JsonDocument.Parse(await detokenized.Content.ReadAsStringAsync());
        Assert.AreEqual(text, back.RootElement.GetProperty("prompt").GetString());
    }

    [TestMethod]
    public async Task TokenizesAConversationThroughTheChatTemplate()
    {
        using var response = await PostAsync("/v1/tokenize", """{"messages":[{"role":"user","content":"Hi"}]}""");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        int[] ids = json.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.AreEqual("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>", s_tokenizer.Decode(ids));
    }

    [TestMethod]
    [DataRow("/v1/tokenize", "{}", "exactly one of")]
    [DataRow("/v1/tokenize", """{"prompt":"a","messages":[]}""", "exactly one of")]
    [DataRow("/v1/tokenize", """{"prompt":3}""", "must be a string")]
    [DataRow("/v1/tokenize", """{"prompt":"a","add_special_tokens":"yes"}""", "must be a boolean")]
    [DataRow("/v1/tokenize", """{"prompt":"a","extra":1}""", "'extra' is not supported")]
    [DataRow("/v1/detokenize", "{}", "'tokens' is required")]
    [DataRow("/v1/detokenize", """{"tokens":[1,-5]}""", "not a token id")]
    [DataRow("/v1/detokenize", """{"tokens":[1,99999999]}""", "not a token id")]
    [DataRow("/v1/detokenize", """{"tokens":["a"]}""", "not a token id")]
    [DataRow("/v1/detokenize", "[1,2]", "JSON object")]
    public async Task RefusesWrongFormsNamingTheProblem(string route, string body, string messagePart)
    {
        using var response = await PostAsync(route, body);
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        StringAssert.Contains(json.RootElement.GetProperty("error").GetProperty("message").GetString(), messagePart);
    }

    private static Task<HttpResponseMessage> PostAsync(string route, string body) =>
        s_daemon.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
}
