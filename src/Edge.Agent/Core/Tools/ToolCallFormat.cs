using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Edge.Agent.Core.Tools;

/// <summary>
/// How a model family writes tool calls, told from its chat template: DeepSeek's special-token
/// syntax (V3, R1 and the R1 distills), the Hermes/Qwen &lt;tool_call&gt; JSON, or Llama 3.1's bare
/// JSON object. Each tells the model about the tools when its template does not, and reads the
/// calls back out of the answer; text that does not parse as a call stays in the content.
/// </summary>
internal abstract partial class ToolCallFormat
{
    /// <summary>Where the answer's calls begin; text from here on is held back from the stream.</summary>
    public abstract string Marker { get; }

    public abstract string Name { get; }

    /// <summary>What to tell the model about the tools, for templates that do not render 'tools' themselves.</summary>
    public abstract string Instructions(IReadOnlyList<ToolFunction> functions);

    /// <summary>
    /// The grammar of one call after the family's call marker (the trigger), for tool_choice auto:
    /// the model writes prose freely, and once it opens a call, the name must be an offered
    /// function's and the arguments must match that function's schema.
    /// </summary>
    public abstract Edge.Runtime.Constraints.OutputGrammar LazyGrammar(IReadOnlyList<ToolFunction> functions);

    /// <summary>A <see cref="Edge.Runtime.Constraints.GrammarKind.FramedSchemas"/> grammar: each function's arguments between its frame.</summary>
    protected static Edge.Runtime.Constraints.OutputGrammar Framed(string trigger, IReadOnlyList<ToolFunction> functions, Func<ToolFunction, string> prefix, string suffix)
    {
        var items = new System.Text.Json.Nodes.JsonArray();
        foreach (var function in functions)
        {
            items.Add((System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            {
                ["prefix"] = prefix(function),
                ["schema"] = System.Text.Json.Nodes.JsonNode.Parse(function.ParametersSchema),
                ["suffix"] = suffix,
            });
        }
        return new Edge.Runtime.Constraints.OutputGrammar(Edge.Runtime.Constraints.GrammarKind.FramedSchemas, items.ToJsonString(), "tools") { Trigger = trigger };
    }

    /// <summary>The content before the calls, and the calls that parse (arguments as compact JSON).</summary>
    public abstract (string Content, List<ToolCall> Calls) Parse(string answer);

    public static ToolCallFormat For(string? templateSource) =>
        templateSource is null ? Hermes
        : templateSource.Contains("tool▁calls▁begin", StringComparison.Ordinal) ? DeepSeek
        : templateSource.Contains("<tool_call>", StringComparison.Ordinal) ? Hermes
        : templateSource.Contains("<|python_tag|>", StringComparison.Ordinal) || templateSource.Contains("ipython", StringComparison.Ordinal) ? Llama
        : Hermes;

    public static readonly ToolCallFormat DeepSeek = new DeepSeekFormat();
    public static readonly ToolCallFormat Hermes = new HermesFormat();
    public static readonly ToolCallFormat Llama = new LlamaFormat();

    protected static string Describe(IReadOnlyList<ToolFunction> functions, Func<ToolFunction, string> one) => string.Join("\n", functions.Select(one));

    /// <summary>Arguments as JSON text, or null when they are not a JSON object.</summary>
    public static string? Arguments(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.GetRawText() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string NewId() => $"call_{Guid.NewGuid():N}"[..29];

    private sealed partial class DeepSeekFormat : ToolCallFormat
    {
        public override string Name => "deepseek";
        public override string Marker => "<｜tool▁calls▁begin｜>";

        public override Edge.Runtime.Constraints.OutputGrammar LazyGrammar(IReadOnlyList<ToolFunction> functions) =>
            Framed("<｜tool▁sep｜>", functions, f => f.Name + "\n```json\n", "\n```<｜tool▁call▁end｜>");

        public override string Instructions(IReadOnlyList<ToolFunction> functions) =>
            "## Tools\nYou have access to the following tools:\n\n"
            + Describe(functions, f => $"### {f.Name}\nDescription: {f.Description}\n\nParameters: {f.ParametersSchema}\n")
            + "\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n"
            + "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>FUNCTION_NAME\n```json\nARGUMENTS\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n"
            + "Where FUNCTION_NAME is the name of the function and ARGUMENTS is a JSON object of its arguments.";

        public override (string Content, List<ToolCall> Calls) Parse(string answer) => ParseMarked(answer, Call(),
            match => Arguments(match.Groups["arguments"].Value) is { } arguments ? new ToolCall(NewId(), match.Groups["name"].Value.Trim(), arguments) : null);

        [GeneratedRegex(@"<｜tool▁call▁begin｜>\s*(?:function)?\s*<｜tool▁sep｜>(?<name>[^\n<]+)\n```(?:json)?\n(?<arguments>.*?)\n```\s*<｜tool▁call▁end｜>", RegexOptions.Singleline)]
        private static partial Regex Call();
    }

    private sealed partial class HermesFormat : ToolCallFormat
    {
        public override string Name => "hermes";
        public override string Marker => "<tool_call>";

        public override Edge.Runtime.Constraints.OutputGrammar LazyGrammar(IReadOnlyList<ToolFunction> functions) =>
            Framed("<tool_call>", functions, f => $"\n{{\"name\": \"{f.Name}\", \"arguments\": ", "}\n</tool_call>");

        public override string Instructions(IReadOnlyList<ToolFunction> functions) =>
            "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + Describe(functions, f => JsonSerializer.Serialize(new ToolSignature("function", new ToolSignatureFunction(f.Name, f.Description ?? "", f.Parameters)), ToolJsonContext.Default.ToolSignature))
            + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
            + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

        public override (string Content, List<ToolCall> Calls) Parse(string answer) => ParseMarked(answer, Call(), match => NamedCall(match.Groups["json"].Value, "arguments"));

        [GeneratedRegex(@"<tool_call>\s*(?<json>\{.*?\})\s*</tool_call>", RegexOptions.Singleline)]
        private static partial Regex Call();
    }

    /// <summary>Llama 3.1: the whole answer is one JSON object {"name": ..., "parameters": {...}} (optionally after &lt;|python_tag|&gt;).</summary>
    private sealed class LlamaFormat : ToolCallFormat
    {
        public override string Name => "llama";
        public override string Marker => "{\"name\"";

        // The call has no marker of its own: the trigger is the object's opening, as the template's
        // instructions spell it. Prose that happens to contain {"name" is held to a call from there.
        public override Edge.Runtime.Constraints.OutputGrammar LazyGrammar(IReadOnlyList<ToolFunction> functions) =>
            Framed(Marker, functions, f => $": \"{f.Name}\", \"parameters\": ", "}");

        public override string Instructions(IReadOnlyList<ToolFunction> functions) =>
            "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n"
            + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. Do not use variables.\n\n"
            + Describe(functions, f => JsonSerializer.Serialize(new ToolSignature("function", new ToolSignatureFunction(f.Name, f.Description ?? "", f.Parameters)), ToolJsonContext.Default.ToolSignature));

        public override (string Content, List<ToolCall> Calls) Parse(string answer)
        {
            string trimmed = answer.Replace("<|python_tag|>", "", StringComparison.Ordinal).Trim();
            var calls = new List<ToolCall>();
            foreach (string part in trimmed.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if ((NamedCall(part, "parameters") ?? NamedCall(part, "arguments")) is not { } call)
                    return (answer, []);
                calls.Add(call);
            }
            return calls.Count == 0 ? (answer, calls) : ("", calls);
        }
    }

    /// <summary>
    /// Calls marked in the answer: the content is the text before the marker, the calls those of
    /// the pattern's matches that parse; none parse, and the whole answer stays content.
    /// </summary>
    protected (string Content, List<ToolCall> Calls) ParseMarked(string answer, Regex call, Func<Match, ToolCall?> read)
    {
        int start = answer.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0)
            return (answer, []);
        var calls = call.Matches(answer, start).Select(read).OfType<ToolCall>().ToList();
        return calls.Count == 0 ? (answer, calls) : (answer[..start], calls);
    }

    /// <summary>A {"name": ..., "&lt;arguments&gt;": {...}} object as a call, or null.</summary>
    protected static ToolCall? NamedCall(string json, string argumentsField)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !root.TryGetProperty(argumentsField, out var arguments) || arguments.ValueKind != JsonValueKind.Object)
                return null;
            return new ToolCall(NewId(), name.GetString()!, arguments.GetRawText());
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

internal sealed record ToolSignature(string Type, ToolSignatureFunction Function);

internal sealed record ToolSignatureFunction(string Name, string Description, JsonElement Parameters);

[System.Text.Json.Serialization.JsonSerializable(typeof(ToolSignature))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class ToolJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
