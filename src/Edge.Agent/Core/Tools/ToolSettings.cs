using System.Text.Json;

namespace Edge.Agent.Core.Tools;

/// <summary>OpenAI's tool_choice: never call, let the model decide, call at least one, or call this one.</summary>
internal enum ToolChoiceMode
{
    None,
    Auto,
    Required,
    Named,
}

/// <summary>A function the caller offers: its name, what it does, and the JSON schema of its arguments (as an element and as text).</summary>
internal sealed record ToolFunction(string Name, string? Description, JsonElement Parameters)
{
    public string ParametersSchema => Parameters.GetRawText();
}

/// <summary>
/// The tools of one chat request: the functions (and the 'tools' array as the chat template takes
/// it), the choice, and whether several calls may come in one answer.
/// </summary>
internal sealed record ToolSettings(JsonElement Tools, IReadOnlyList<ToolFunction> Functions, ToolChoiceMode Mode, string? Named, bool Parallel)
{
    /// <summary>Whether the answer is read for tool calls (none: the tools are not even shown to the model).</summary>
    public bool Active => Mode != ToolChoiceMode.None && Functions.Count > 0;
}

/// <summary>One call the model made: arguments are JSON text, as OpenAI's tool_calls carry them.</summary>
internal sealed record ToolCall(string Id, string Name, string Arguments);
