using System.Text.Json;
using Edge.Agent.Core.Tools;

namespace Edge.Agent.Tests.Tools;

/// <summary>Each model family's tool-call syntax read back into calls, and the stream holding back exactly the call text.</summary>
[TestClass]
public sealed class ToolCallFormatTests
{
    private static readonly ToolSettings Auto = Settings(ToolChoiceMode.Auto, parallel: true);

    private static ToolSettings Settings(ToolChoiceMode mode, bool parallel, string? named = null)
    {
        using var parameters = JsonDocument.Parse("""{"type":"object","properties":{"valve":{"type":"string"}},"required":["valve"]}""");
        using var tools = JsonDocument.Parse("[]");
        return new ToolSettings(tools.RootElement.Clone(), [new ToolFunction("set_valve", "Opens or closes a valve", parameters.RootElement.Clone()), new ToolFunction("read_sensor", null, parameters.RootElement.Clone())], mode, named, parallel);
    }

    [TestMethod]
    public void DeepSeekCallsAreReadWithTheTextBeforeThemAsContent()
    {
        const string answer = "Closing it now.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>set_valve\n```json\n{\"valve\": \"V-12\", \"state\": \"closed\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>read_sensor\n```json\n{\"valve\":\"V-12\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        var (content, calls) = ToolCallFormat.DeepSeek.Parse(answer);
        Assert.AreEqual("Closing it now.", content);
        Assert.AreEqual(2, calls.Count);
        Assert.AreEqual("set_valve", calls[0].Name);
        Assert.AreEqual("""{"valve": "V-12", "state": "closed"}""", calls[0].Arguments);
        Assert.AreEqual("read_sensor", calls[1].Name);
        Assert.IsTrue(calls[0].Id.StartsWith("call_", StringComparison.Ordinal) && calls[0].Id != calls[1].Id);
    }

    [TestMethod]
    public void HermesAndLlamaCallsAreRead()
    {
        var (content, calls) = ToolCallFormat.Hermes.Parse("Let me check.\n<tool_call>\n{\"name\": \"read_sensor\", \"arguments\": {\"valve\": \"V-3\"}}\n</tool_call>");
        Assert.AreEqual("Let me check.\n", content);
        Assert.AreEqual("read_sensor", calls.Single().Name);
        (content, calls) = ToolCallFormat.Llama.Parse("<|python_tag|>{\"name\": \"set_valve\", \"parameters\": {\"valve\": \"V-1\"}}");
        Assert.AreEqual("", content);
        Assert.AreEqual("""{"valve": "V-1"}""", calls.Single().Arguments);
    }

    [TestMethod]
    [DataRow("No tools needed: the valve is fine.")]
    [DataRow("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>set_valve\n```json\n{\"valve\": \n```<｜tool▁call▁end｜>")] // arguments cut off
    [DataRow("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>set_valve\n```json\n[1,2]\n```<｜tool▁call▁end｜>")] // not an object
    public void TextThatIsNoWholeCallStaysContent(string answer)
    {
        var (content, calls) = ToolCallFormat.DeepSeek.Parse(answer);
        Assert.AreEqual(0, calls.Count);
        Assert.AreEqual(answer, content);
    }

    /// <summary>Streamed in any cut, content before the marker goes out at once, a possible marker prefix waits, and the calls come at the end.</summary>
    [TestMethod]
    public void TheStreamHoldsBackOnlyWhatMayBeACall()
    {
        const string answer = "Valve <tool ok.<tool_call>{\"name\":\"set_valve\",\"arguments\":{\"valve\":\"V-9\"}}</tool_call>";
        for (int cut = 1; cut <= 7; cut++)
        {
            var reader = new ToolAnswer(Auto, ToolCallFormat.Hermes);
            var streamed = new System.Text.StringBuilder();
            for (int i = 0; i < answer.Length; i += cut)
                streamed.Append(reader.Feed(answer.Substring(i, Math.Min(cut, answer.Length - i))));
            var (rest, calls) = reader.Finish();
            Assert.AreEqual("Valve <tool ok.", streamed + rest, $"cut {cut}");
            Assert.AreEqual("set_valve", calls.Single().Name);
        }
    }

    [TestMethod]
    public void RequiredAndNamedAnswersAreTheirJsonAndParallelFalseKeepsOneCall()
    {
        var required = new ToolAnswer(Settings(ToolChoiceMode.Required, parallel: false), ToolCallFormat.DeepSeek);
        Assert.AreEqual("", required.Feed("""[{"name":"set_valve","arguments":{"valve":"V-1"}},{"name":"read_sensor","arguments":{"valve":"V-2"}}]"""));
        var (content, calls) = required.Finish();
        Assert.AreEqual("", content);
        Assert.AreEqual("set_valve", calls.Single().Name);
        var named = new ToolAnswer(Settings(ToolChoiceMode.Named, parallel: true, named: "read_sensor"), ToolCallFormat.DeepSeek);
        (content, calls) = named.Read("""{"valve":"V-7"}""");
        Assert.AreEqual("read_sensor", calls.Single().Name);
        Assert.AreEqual("""{"valve":"V-7"}""", calls[0].Arguments);
        using var schema = JsonDocument.Parse(ToolAnswer.Grammar(Settings(ToolChoiceMode.Required, parallel: false), ToolCallFormat.DeepSeek)!.Source);
        Assert.AreEqual(1, schema.RootElement.GetProperty("maxItems").GetInt32());
    }
}
