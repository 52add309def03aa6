using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Reasoning;

/// <summary>
/// The daemon serving a package made by `edge-distill import` with DeepSeek-R1-Distill's chat
/// template: its output starts inside the think block the template opens, so the thinking comes
/// back as reasoning_content, whole and streamed, and /v1/models describes the imported model.
/// </summary>
[TestClass]
public sealed class ImportedReasoningModelTests
{
    private static string s_work = null!;
    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _)
    {
        s_work = Directory.CreateTempSubdirectory("dsedge-imported").FullName;
        string checkpoint = Path.Combine(s_work, "checkpoint"), package = Path.Combine(s_work, "package");
        DistillTool.Run("init", "--arch", "deepseek_v3", "--preset", "tiny", "--seed", "3", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", checkpoint);
        string configPath = Path.Combine(checkpoint, "tokenizer_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["chat_template"] = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "tests", "data", "templates", "deepseek-r1-distill.jinja"));
        File.WriteAllText(configPath, config.ToJsonString());
        DistillTool.Run("import", "--from", checkpoint, "--out", package, "--context", "512", "--name", "r1-test");
        s_daemon = await LiveDaemon.StartWithModelAsync(package);
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        // Null when the start failed: the start's own error is the one to read.
        if (s_daemon is not null)
            await s_daemon.DisposeAsync();
        if (s_work is not null)
            Directory.Delete(s_work, recursive: true);
    }

    private static object Request(bool stream) => new
    {
        model = "r1-test",
        messages = new[] { new { role = "user", content = "Is conveyor 4 running?" } },
        max_tokens = 24,
        temperature = 0,
        stream,
    };

    [TestMethod]
    public async Task TheThinkingComesBackAsReasoningContentWholeAndStreamed()
    {
        using var whole = await s_daemon.Client.PostAsJsonAsync("/v1/chat/completions", Request(stream: false));
        Assert.AreEqual(System.Net.HttpStatusCode.OK, whole.StatusCode, await whole.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        var message = answer.RootElement.GetProperty("choices")[0].GetProperty("message");
        string reasoning = message.GetProperty("reasoning_content").GetString()!;
        string content = message.GetProperty("content").GetString()!;
        Assert.IsGreaterThan(0, reasoning.Length, "the template opened <think>: the output starts as reasoning");
        Assert.DoesNotContain("</think>", reasoning);
        Assert.DoesNotContain("</think>", content);

        using var streamed = await s_daemon.Client.PostAsJsonAsync("/v1/chat/completions", Request(stream: true));
        string body = await streamed.Content.ReadAsStringAsync();
        var streamedReasoning = new StringBuilder();
        var streamedContent = new StringBuilder();
        foreach (string line in body.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            using var chunk = JsonDocument.Parse(line["data: ".Length..]);
            var choices = chunk.RootElement.GetProperty("choices");
            if (choices.GetArrayLength() == 0)
                continue;
            var delta = choices[0].GetProperty("delta");
            if (delta.TryGetProperty("reasoning_content", out var r))
                streamedReasoning.Append(r.GetString());
            if (delta.TryGetProperty("content", out var c))
                streamedContent.Append(c.GetString());
        }
        Assert.AreEqual(reasoning, streamedReasoning.ToString());
        Assert.AreEqual(content, streamedContent.ToString());
    }

    [TestMethod]
    public async Task ModelsListTheImportedArchitectureAndItsSource()
    {
        using var models = JsonDocument.Parse(await s_daemon.Client.GetStringAsync("/v1/models"));
        var card = models.RootElement.GetProperty("data")[0];
        Assert.AreEqual("r1-test", card.GetProperty("id").GetString());
        Assert.AreEqual("deepseek_v3", card.GetProperty("architecture").GetString());
        Assert.AreEqual(512, card.GetProperty("max_model_len").GetInt32());
        Assert.IsGreaterThan(0L, card.GetProperty("parameters").GetInt64());
        StringAssert.StartsWith(card.GetProperty("source").GetString(), "huggingface:checkpoint");
        StringAssert.StartsWith(card.GetProperty("quantization").GetString(), "none");
    }
}
