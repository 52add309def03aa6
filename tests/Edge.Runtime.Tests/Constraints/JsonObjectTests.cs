using System.Text;
using System.Text.Json;
using Edge.Runtime.Constraints;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>response_format json_object: the automaton, and generations of the default model that always parse.</summary>
[TestClass]
public sealed class JsonObjectTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    private static JsonState? Feed(string text)
    {
        JsonState? state = default(JsonState);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            state = state!.Value.Step(b);
            if (state is null)
                return null;
        }
        return state;
    }

    [TestMethod]
    [DataRow("""{}""")]
    [DataRow(""" {"valve": "V-12", "action": "close"}""")]
    [DataRow("""{"a":[1,-0.5,2e10,3E-2,0,true,false,null,{"b":[]}],"c":"\"\\\/\b\f\n\r\t\u00e9 温度 🚀"}""")]
    [DataRow("{\n  \"nested\": {\"deep\": [[[]]]}\n}")]
    public void AcceptsJsonObjectsAndIsCompleteExactlyAtTheirEnd(string json)
    {
        var state = Feed(json);
        Assert.IsNotNull(state, json);
        Assert.IsTrue(state.Value.IsComplete, json);
        Assert.IsNull(state.Value.Step((byte)' '), "nothing after the object, not even whitespace");
        Assert.IsFalse(Feed(json[..^1])!.Value.IsComplete);
        JsonDocument.Parse(json).Dispose();
    }

    [TestMethod]
    [DataRow("""[1]""")]            // not an object
    [DataRow("""{"a":01}""")]       // leading zero
    [DataRow("""{"a":1.}""")]
    [DataRow("""{"a":-}""")]
    [DataRow("""{"a":tru}""")]
    [DataRow("""{"a":"x""")]        // a prefix, not yet an object
    [DataRow("{\"a\":\"x\ny\"}")] // a raw newline inside a string
    [DataRow("""{"a":"\x"}""")]
    [DataRow("""{"a":"\u12G4"}""")]
    [DataRow("""{"a":1,}""")]
    [DataRow("""{"a" 1}""")]
    [DataRow("""{a:1}""")]
    [DataRow("""{"a":[1}""")]
    [DataRow("""{"a":1]""")]
    public void RefusesWhatIsNotAJsonObject(string text)
    {
        var state = Feed(text);
        Assert.IsTrue(state is null || !state.Value.IsComplete, text);
        if (state is not null)
            Assert.Throws<JsonException>(() => JsonDocument.Parse(text), text);
    }

    /// <summary>Every prefix of a document, completed the shortest way, is a JSON object.</summary>
    [TestMethod]
    public void TheShortestCompletionOfAnyPrefixParses()
    {
        const string json = """{"k\u00e9y": [-1.5e+3, "t\"x", true, {"n": null}], "z": fal""";
        for (int length = 0; length <= json.Length; length++)
        {
            var state = Feed(json[..length]);
            Assert.IsNotNull(state, json[..length]);
            Assert.AreEqual(state.Value.Completion().Length, state.Value.CompletionLength, json[..length]);
            string completed = json[..length] + Encoding.ASCII.GetString(state.Value.Completion());
            Assert.IsTrue(Feed(completed)!.Value.IsComplete, completed);
            using var parsed = JsonDocument.Parse(completed);
        }
    }

    [TestMethod]
    public void NestingAndWhitespaceAreBounded()
    {
        string deep = "{\"a\":" + new string('[', JsonState.MaxDepth - 1);
        Assert.IsNotNull(Feed(deep));
        Assert.IsNull(Feed(deep + "["));
        Assert.IsNotNull(Feed("{" + new string(' ', JsonState.MaxWhitespace)));
        Assert.IsNull(Feed("{" + new string(' ', JsonState.MaxWhitespace + 1)));
    }

    /// <summary>
    /// The default model sampled hot (temperature 1.5, 24 seeds) and greedy, alone and batched, with
    /// room and with max_tokens 12: every answer is a JSON object that parses, closed in time.
    /// </summary>
    [TestMethod]
    public async Task EveryFinishedAnswerIsAJsonObjectThatParses()
    {
        int[] prompt = Engine.Tokenizer.Encode("Report of press 4 as JSON:");
        var settings = Enumerable.Range(0, 24).Select(seed => new GenerationSettings { MaxTokens = 200, Temperature = 1.5f, Seed = seed, ResponseFormat = ResponseFormat.JsonObject })
            .Append(new GenerationSettings { MaxTokens = 200, ResponseFormat = ResponseFormat.JsonObject })
            .Concat(Enumerable.Range(0, 4).Select(seed => new GenerationSettings { MaxTokens = 12, Temperature = 1.5f, Seed = seed, ResponseFormat = ResponseFormat.JsonObject })).ToList();
        var alone = settings.Take(4).Select(s => Engine.Generate(prompt, s)).ToList();
        using var scheduler = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 16 });
        var batched = await Task.WhenAll(settings.Select(s => scheduler.GenerateAsync(prompt, s)));
        foreach (var result in alone.Concat(batched))
        {
            Assert.AreEqual(FinishReason.Stop, result.FinishReason, result.Text);
            using var json = JsonDocument.Parse(result.Text);
            Assert.AreEqual(JsonValueKind.Object, json.RootElement.ValueKind, result.Text);
        }
        // Seeded sampling is the same alone and in a batch, constraint included.
        for (int i = 0; i < alone.Count; i++)
            Assert.AreEqual(alone[i].Text, batched[i].Text);
    }
}
