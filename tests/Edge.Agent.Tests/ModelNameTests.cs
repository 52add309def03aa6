using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Agent.Configuration;
using Edge.Agent.Core;
using Microsoft.Extensions.Configuration;
using OpenAI;
using OpenAI.Models;

namespace Edge.Agent.Tests;

/// <summary>
/// "model" names the served model or one of its configured aliases (Model:Aliases); anything
/// else is a 404 in OpenAI's shape, on every route that takes a model, never served silently.
/// </summary>
[TestClass]
public sealed class ModelNameTests
{
    private const string Key = "sk-model-names-test-key-0123456789";
    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync(
        "--Model:Aliases=deepseek-ai/DeepSeek-R1, plc-assistant",
        "--Auth:Keys:0:Name=openai-library", $"--Auth:Keys:0:Sha256={Edge.Agent.Security.ApiKeys.Hash(Key)}", "--Auth:Keys:0:Roles:0=infer");

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    [TestMethod]
    public async Task TheListNamesTheModelAndItsAliases()
    {
        using var json = JsonDocument.Parse(await s_daemon.Client.GetStringAsync("/v1/models"));
        CollectionAssert.AreEqual(new[] { "deepseek-edge", "deepseek-ai/DeepSeek-R1", "plc-assistant" },
            json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToArray());
    }

    [TestMethod]
    [DataRow("deepseek-edge", HttpStatusCode.OK)]
    [DataRow("deepseek-ai/DeepSeek-R1", HttpStatusCode.OK)]
    [DataRow("plc-assistant", HttpStatusCode.OK)]
    [DataRow("deepseek%2Dedge", HttpStatusCode.OK)] // a percent-encoded hyphen is the same name
    [DataRow("DeepSeek-Edge", HttpStatusCode.NotFound)]
    [DataRow("gpt-4o", HttpStatusCode.NotFound)]
    [DataRow("plc-assistant%00", HttpStatusCode.BadRequest)] // Kestrel refuses a NUL in a path before routing
    [DataRow("deepseek-ai/DeepSeek-R1/", HttpStatusCode.NotFound)]
    [DataRow("%20plc-assistant", HttpStatusCode.NotFound)]
    public async Task RetrieveAnswersOnlyToItsNames(string id, HttpStatusCode expected)
    {
        using var response = await s_daemon.Client.GetAsync($"/v1/models/{id}");
        Assert.AreEqual(expected, response.StatusCode, id);
        if (expected == HttpStatusCode.BadRequest)
            return;
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (expected == HttpStatusCode.OK)
        {
            Assert.AreEqual(Uri.UnescapeDataString(id), json.RootElement.GetProperty("id").GetString());
            Assert.AreEqual(1024, json.RootElement.GetProperty("max_model_len").GetInt32());
            return;
        }
        var error = json.RootElement.GetProperty("error");
        Assert.AreEqual("model_not_found", error.GetProperty("code").GetString());
        Assert.AreEqual("model", error.GetProperty("param").GetString());
        StringAssert.Contains(error.GetProperty("message").GetString(), "'deepseek-edge'");
    }

    [TestMethod]
    public async Task AHugeUnknownNameIsRefusedAndNotEchoedWhole()
    {
        string name = new('m', 20_000);
        using var response = await Post("/v1/completions", $$"""{"model":"{{name}}","prompt":"Pump 3","max_tokens":1}""");
        Assert.AreEqual(HttpStatusCode.NotFound, response.StatusCode);
        Assert.IsLessThan(1_000, (await response.Content.ReadAsStringAsync()).Length);
    }

    [TestMethod]
    [DataRow("/v1/completions", """{"model":"gpt-4o","prompt":"Pump 3","max_tokens":1}""")]
    [DataRow("/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"Pump 3"}],"max_tokens":1}""")]
    [DataRow("/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"Pump 3"}],"max_tokens":1,"stream":true}""")]
    [DataRow("/v1/tokenize", """{"model":"gpt-4o","prompt":"Pump 3"}""")]
    [DataRow("/v1/detokenize", """{"model":"gpt-4o","tokens":[5]}""")]
    public async Task EveryRouteRefusesAnUnknownModel(string route, string body)
    {
        using var response = await Post(route, body);
        Assert.AreEqual(HttpStatusCode.NotFound, response.StatusCode, route);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.AreEqual("model_not_found", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [TestMethod]
    [DataRow("""{"model":"plc-assistant","prompt":"Pump 3","max_tokens":2}""")]
    [DataRow("""{"prompt":"Pump 3","max_tokens":2}""")]
    public async Task AnAliasOrNoModelIsServed(string body)
    {
        using var response = await Post("/v1/completions", body);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [TestMethod]
    public async Task TheOpenAiLibraryRetrievesTheModelAndGetsA404ForAnother()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = new Uri(s_daemon.Client.BaseAddress!, "/v1") });
        OpenAIModel model = await client.GetModelAsync("plc-assistant");
        Assert.AreEqual("plc-assistant", model.Id);
        Assert.AreEqual("deepseek-edge", model.OwnedBy);
        var refused = await Assert.ThrowsExactlyAsync<ClientResultException>(() => client.GetModelAsync("gpt-4o"));
        Assert.AreEqual(404, refused.Status);
        var chat = new OpenAI.Chat.ChatClient("gpt-4o", new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = new Uri(s_daemon.Client.BaseAddress!, "/v1") });
        Assert.AreEqual(404, (await Assert.ThrowsExactlyAsync<ClientResultException>(() => chat.CompleteChatAsync("Pump 3"))).Status);
    }

    [TestMethod]
    public void AnAliasWithAControlCharacterOrOverlongIsRefusedByName()
    {
        foreach (string aliases in new[] { "ok,bad\u0001name", new string('a', ModelNames.MaxNameLength + 1) })
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Model:Aliases", aliases)]).Build();
            var refused = Assert.ThrowsExactly<ConfigurationException>(() => ModelNames.Read(configuration));
            Assert.AreEqual("Model:Aliases", refused.Key);
        }
    }

    private static Task<HttpResponseMessage> Post(string route, string body) =>
        s_daemon.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
}
