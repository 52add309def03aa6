using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Clients;

/// <summary>
/// The daemon driven by client libraries nobody here wrote: the ollama npm client (ollama-js) on
/// /api and the openai npm client on /v1, structured output included; every schema answer is
/// checked by Ajv.
/// </summary>
[TestClass]
public sealed class NpmClientTests
{
    private const string Schema = """
        {"type":"object","properties":{"valve":{"type":"string","pattern":"^V-[0-9]{1,3}$"},
         "action":{"type":"string","enum":["open","close","hold"]},"minutes":{"type":"integer","minimum":0,"maximum":120}},
         "required":["valve","action","minutes"],"additionalProperties":false}
        """;

    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync("--Model:Aliases=plc-assistant");

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    private static string Host => s_daemon.Client.BaseAddress!.ToString().TrimEnd('/');

    [TestMethod]
    public void TheOllamaClientListsShowsGeneratesAndChatsWithSchemas()
    {
        var input = new JsonObject { ["host"] = Host, ["model"] = "deepseek-edge", ["schema"] = JsonNode.Parse(Schema) };
        using var output = JsonDocument.Parse(NodeReference.Run(RepositoryPaths.ClientTools, "ollama-client.mjs", input.ToJsonString()));
        var o = output.RootElement;
        Assert.IsFalse(string.IsNullOrEmpty(o.GetProperty("version").GetProperty("version").GetString()));
        var names = o.GetProperty("list").GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToList();
        CollectionAssert.AreEquivalent(new[] { "deepseek-edge", "plc-assistant" }, names);
        Assert.AreEqual("onnx", o.GetProperty("show").GetProperty("details").GetProperty("format").GetString());
        StringAssert.Contains(o.GetProperty("show").GetProperty("template").GetString(), "messages");

        // Greedy, raw: the same 8 tokens whole and streamed, with Ollama's counts.
        var generate = o.GetProperty("generate");
        Assert.IsTrue(generate.GetProperty("done").GetBoolean());
        Assert.AreEqual(8, generate.GetProperty("eval_count").GetInt32());
        Assert.IsTrue(generate.GetProperty("prompt_eval_count").GetInt32() > 0);
        Assert.IsTrue(generate.GetProperty("total_duration").GetInt64() > 0);
        var stream = o.GetProperty("generateStream");
        Assert.AreEqual(generate.GetProperty("response").GetString(), stream.GetProperty("text").GetString());
        Assert.IsTrue(stream.GetProperty("parts").GetInt32() >= 2, "streamed in pieces");
        Assert.AreEqual("length", stream.GetProperty("last").GetProperty("done_reason").GetString());

        // format as a JSON schema: every answer validates, and streamed equals whole.
        var answers = new List<string>();
        foreach (var chat in o.GetProperty("chatSchema").EnumerateArray())
        {
            Assert.AreEqual(chat.GetProperty("whole").GetString(), chat.GetProperty("streamed").GetString());
            Assert.AreEqual("stop", chat.GetProperty("doneReason").GetString());
            answers.Add(chat.GetProperty("whole").GetString()!);
        }
        foreach (var (valid, errors, document) in SchemaValidator.Validate(Schema, answers))
            Assert.IsTrue(valid, $"{document}: {errors}");
        using (var json = JsonDocument.Parse(o.GetProperty("chatJson").GetString()!))
            Assert.AreEqual(JsonValueKind.Object, json.RootElement.ValueKind);

        // Errors reach the client in Ollama's shape, with their status.
        Assert.AreEqual(404, o.GetProperty("unknownModel").GetProperty("status").GetInt32());
        StringAssert.Contains(o.GetProperty("unknownModel").GetProperty("error").GetString(), "no-such-model");
        Assert.AreEqual(400, o.GetProperty("badOption").GetProperty("status").GetInt32());
        StringAssert.Contains(o.GetProperty("badOption").GetProperty("error").GetString(), "options.mirostat");
    }

    [TestMethod]
    public void TheOpenAiClientGetsSchemaAnswersRegexAnswersAndErrors()
    {
        var input = new JsonObject { ["baseURL"] = Host + "/v1", ["model"] = "plc-assistant", ["schema"] = JsonNode.Parse(Schema) };
        using var output = JsonDocument.Parse(NodeReference.Run(RepositoryPaths.ClientTools, "openai-client.mjs", input.ToJsonString()));
        var o = output.RootElement;
        CollectionAssert.Contains(o.GetProperty("models").EnumerateArray().Select(m => m.GetString()).ToList(), "plc-assistant");
        Assert.AreEqual("plc-assistant", o.GetProperty("model").GetProperty("id").GetString());
        var answers = new List<string>();
        foreach (var answer in o.GetProperty("schema").EnumerateArray())
        {
            Assert.AreEqual(answer.GetProperty("whole").GetString(), answer.GetProperty("streamed").GetString());
            Assert.AreEqual("stop", answer.GetProperty("finish").GetString());
            answers.Add(answer.GetProperty("whole").GetString()!);
        }
        foreach (var (valid, errors, document) in SchemaValidator.Validate(Schema, answers))
            Assert.IsTrue(valid, $"{document}: {errors}");
        StringAssert.Matches(o.GetProperty("regex").GetString(), new System.Text.RegularExpressions.Regex("^V-[0-9]{2,3} (open|close)$"));
        Assert.AreEqual(404, o.GetProperty("unknownModel").GetProperty("status").GetInt32());
        Assert.AreEqual("model_not_found", o.GetProperty("unknownModel").GetProperty("code").GetString());
        Assert.AreEqual(400, o.GetProperty("badSchema").GetProperty("status").GetInt32());
        StringAssert.Contains(o.GetProperty("badSchema").GetProperty("message").GetString(), "format 'email'");
    }
}
