using System.Text;
using System.Text.Json;
using Edge.Agent.Core.Tools;
using Edge.Runtime.Constraints;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Tools;

/// <summary>
/// tool_choice auto: prose is free, and a call the model opens is constrained from its marker on,
/// so its name is an offered function's and its arguments validate (Ajv). Checked over the default
/// model's real vocabulary with random logits in place of the model, for DeepSeek's, Hermes's and
/// Llama 3.1's syntax (Llama's call is a bare JSON object: its trigger is the object's opening).
/// </summary>
[TestClass]
public sealed class LazyToolGrammarTests
{
    private const string Valve = """{"type":"object","properties":{"valve":{"type":"string","pattern":"^V-[0-9]{1,2}$"},"state":{"enum":["open","closed"]}},"required":["valve","state"],"additionalProperties":false}""";
    private const string Sensor = """{"type":"object","properties":{"sensor":{"type":"integer","minimum":1,"maximum":40}},"required":["sensor"],"additionalProperties":false}""";

    private static ToolSettings Tools()
    {
        using var valve = JsonDocument.Parse(Valve);
        using var sensor = JsonDocument.Parse(Sensor);
        using var tools = JsonDocument.Parse("[]");
        return new ToolSettings(tools.RootElement.Clone(), [new ToolFunction("set_valve", null, valve.RootElement.Clone()), new ToolFunction("read_sensor", null, sensor.RootElement.Clone())],
            ToolChoiceMode.Auto, null, Parallel: true);
    }

    [TestMethod]
    [DataRow("deepseek", "I will close it.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>", "<｜tool▁calls▁end｜>", "I will close it.")]
    [DataRow("hermes", "I will close it.\n<tool_call>", "", "I will close it.")]
    [DataRow("llama", "<|python_tag|>{\"name\"", "", "")]
    public void CallsOpenedFreelyAreConstrainedToAnOfferedFunctionWithValidArguments(string family, string opening, string closing, string expectedContent)
    {
        var format = family switch { "deepseek" => ToolCallFormat.DeepSeek, "hermes" => ToolCallFormat.Hermes, _ => ToolCallFormat.Llama };
        var engine = LiveDaemonEngine.Default;
        var grammar = ToolAnswer.Grammar(Tools(), format)!;
        Assert.IsNotNull(grammar.Trigger);
        var masks = engine.GrammarMasks(grammar);
        var vocabulary = engine.VocabularyBytes;
        int end = engine.Tokenizer.EosId!.Value;
        var random = new Random(5);
        var answers = new List<(string Name, string Arguments)>();
        for (int walk = 0; walk < 6; walk++)
        {
            var constraint = new TriggeredConstraint(vocabulary, grammar.Trigger!, masks, new HashSet<int> { end });
            var text = new List<byte>();
            foreach (int id in engine.Tokenizer.Encode(opening, addSpecialTokens: false))
            {
                constraint.Accept(id);
                text.AddRange(vocabulary.Bytes(id) ?? []);
            }
            Assert.IsTrue(constraint.IsConstraining, "the call's marker starts the grammar");
            var logits = new float[vocabulary.Count];
            for (int left = 200; left > 0 && constraint.IsConstraining; left--)
            {
                for (int i = 0; i < logits.Length; i++)
                    logits[i] = random.NextSingle();
                Assert.IsTrue(constraint.Mask(logits, left));
                int best = Array.IndexOf(logits, logits.Max());
                constraint.Accept(best);
                text.AddRange(vocabulary.Bytes(best)!);
            }
            Assert.IsFalse(constraint.IsConstraining, "the call closed, and the output is free again");
            // Free again: nothing is masked.
            var free = Enumerable.Repeat(1f, vocabulary.Count).ToArray();
            Assert.IsTrue(constraint.Mask(free, 10));
            Assert.IsTrue(free.All(l => l == 1f));
            string answer = Encoding.UTF8.GetString([.. text]) + closing;
            var (content, calls) = format.Parse(answer);
            Assert.AreEqual(expectedContent, content.TrimEnd('\n'), answer);
            var call = calls.Single();
            answers.Add((call.Name, call.Arguments));
        }
        foreach (var (name, arguments) in answers)
        {
            var verdict = SchemaValidator.Validate(name == "set_valve" ? Valve : Sensor, [arguments])[0];
            Assert.IsTrue(verdict.Valid, $"{name} {arguments}: {verdict.Errors}");
        }
    }
}

/// <summary>The default model's engine, loaded once for the tests that use its vocabulary without a daemon.</summary>
internal static class LiveDaemonEngine
{
    private static readonly Lazy<Edge.Runtime.Inference.InferenceEngine> Engine = new(() => Edge.Runtime.Inference.InferenceEngine.Load(RepositoryPaths.DefaultModel));

    public static Edge.Runtime.Inference.InferenceEngine Default => Engine.Value;
}
