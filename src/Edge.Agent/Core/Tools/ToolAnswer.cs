using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime.Constraints;

namespace Edge.Agent.Core.Tools;

/// <summary>
/// Reads one answer for tool calls, whole or as it streams. With tool_choice auto the model writes
/// its own syntax (<see cref="ToolCallFormat"/>): text before the first call marker streams as
/// content, the rest is held and parsed at the end. With required or a named function the answer
/// was constrained (<see cref="Grammar"/>) to JSON that always parses: a list of {name, arguments}
/// or the named function's arguments. Without parallel_tool_calls only the first call counts.
/// </summary>
internal sealed class ToolAnswer(ToolSettings tools, ToolCallFormat format)
{
    private readonly StringBuilder _all = new();
    private int _streamed;

    /// <summary>
    /// The grammar the answer must match: for auto, the format's lazy grammar (free prose, each call
    /// it opens constrained); for required, a list of calls; for a named function, its arguments.
    /// </summary>
    public static OutputGrammar? Grammar(ToolSettings tools, ToolCallFormat format)
    {
        if (tools.Mode == ToolChoiceMode.Auto)
            return format.LazyGrammar(tools.Functions);
        if (tools.Mode == ToolChoiceMode.Named)
            return new OutputGrammar(GrammarKind.JsonSchema, tools.Functions.Single(f => f.Name == tools.Named).ParametersSchema, "tools");
        if (tools.Mode != ToolChoiceMode.Required)
            return null;
        var calls = new JsonArray();
        foreach (var function in tools.Functions)
        {
            calls.Add((JsonNode)new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["name"] = new JsonObject { ["const"] = function.Name }, ["arguments"] = JsonNode.Parse(function.ParametersSchema) },
                ["required"] = new JsonArray("name", "arguments"),
                ["additionalProperties"] = false,
            });
        }
        var schema = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["anyOf"] = calls }, ["minItems"] = 1 };
        if (!tools.Parallel)
            schema["maxItems"] = 1;
        return new OutputGrammar(GrammarKind.JsonSchema, schema.ToJsonString(), "tools");
    }

    /// <summary>Takes the next piece of answer text; returns what may stream as content now.</summary>
    public string Feed(string content)
    {
        _all.Append(content);
        if (tools.Mode != ToolChoiceMode.Auto)
            return "";
        string all = _all.ToString();
        int marker = all.IndexOf(format.Marker, StringComparison.Ordinal);
        // Up to the marker, or up to a tail that could still become one.
        int safe = marker >= 0 ? marker : all.Length - HeldTail(all);
        if (safe <= _streamed)
            return "";
        string ready = all[_streamed..safe];
        _streamed = safe;
        return ready;
    }

    /// <summary>The content not streamed yet and the calls, once the answer is complete.</summary>
    public (string Content, IReadOnlyList<ToolCall> Calls) Finish()
    {
        var (content, calls) = Read(_all.ToString());
        if (calls.Count == 0)
            content = _all.ToString();
        string rest = content.Length > _streamed ? content[_streamed..] : "";
        _streamed = content.Length;
        return (rest, calls);
    }

    /// <summary>A whole answer's content and calls.</summary>
    public (string Content, IReadOnlyList<ToolCall> Calls) Read(string answer)
    {
        List<ToolCall> calls;
        string content;
        switch (tools.Mode)
        {
            case ToolChoiceMode.Named:
                calls = ToolCallFormat.Arguments(answer) is { } arguments ? [new ToolCall(ToolCallFormat.NewId(), tools.Named!, arguments)] : [];
                content = calls.Count > 0 ? "" : answer;
                break;
            case ToolChoiceMode.Required:
                calls = Listed(answer);
                content = calls.Count > 0 ? "" : answer;
                break;
            default:
                (content, calls) = format.Parse(answer);
                break;
        }
        return (content, tools.Parallel ? calls : [.. calls.Take(1)]);
    }

    private int HeldTail(string all)
    {
        for (int length = Math.Min(format.Marker.Length - 1, all.Length); length > 0; length--)
        {
            if (format.Marker.StartsWith(all[^length..], StringComparison.Ordinal))
                return length;
        }
        return 0;
    }

    private static List<ToolCall> Listed(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                return [];
            return [.. document.RootElement.EnumerateArray()
                .Where(c => c.ValueKind == JsonValueKind.Object && c.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && c.TryGetProperty("arguments", out _))
                .Select(c => new ToolCall(ToolCallFormat.NewId(), c.GetProperty("name").GetString()!, c.GetProperty("arguments").GetRawText()))];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
