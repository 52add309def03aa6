using System.Text.Json;
using System.Text.RegularExpressions;
using Edge.Agent.Core;
using Edge.Agent.Core.Tools;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.OpenAi;

/// <summary>Reads a chat request's tools, tool_choice and parallel_tool_calls (OpenAI's shapes), refusing every wrong form by name.</summary>
internal static partial class ToolReader
{
    public const int MaxTools = 128;
    private static readonly HashSet<string> ToolFields = ["type", "function"];
    private static readonly HashSet<string> FunctionFields = ["name", "description", "parameters", "strict"];

    /// <summary>The request's tools; null when it offers none.</summary>
    public static ToolSettings? Read(JsonElement root)
    {
        bool hasTools = root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null;
        var (mode, named) = ReadChoice(root, hasTools);
        bool parallel = OptionalBool(root, "parallel_tool_calls") ?? true;
        if (!hasTools)
            return null;
        if (tools.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid($"'tools' must be an array, not {Describe(tools.ValueKind)}.", "tools");
        if (tools.GetArrayLength() > MaxTools)
            throw RefusalException.Invalid($"'tools' holds {tools.GetArrayLength()} tools; at most {MaxTools} are accepted.", "tools");
        var functions = new List<ToolFunction>();
        int index = 0;
        foreach (var tool in tools.EnumerateArray())
            functions.Add(ReadTool(tool, $"tools[{index++}]"));
        if (functions.GroupBy(f => f.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw RefusalException.Invalid($"'tools' names the function '{twice.Key}' twice.", "tools");
        if (named is not null && functions.All(f => f.Name != named))
            throw RefusalException.Invalid($"'tool_choice' names the function '{named}', which 'tools' does not hold.", "tool_choice");
        return new ToolSettings(tools.Clone(), functions, mode, named, parallel);
    }

    private static (ToolChoiceMode Mode, string? Named) ReadChoice(JsonElement root, bool hasTools)
    {
        if (!root.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
            return (ToolChoiceMode.Auto, null);
        (ToolChoiceMode, string?) result = choice.ValueKind switch
        {
            JsonValueKind.String => choice.GetString() switch
            {
                "none" => (ToolChoiceMode.None, (string?)null),
                "auto" => (ToolChoiceMode.Auto, (string?)null),
                "required" => (ToolChoiceMode.Required, (string?)null),
                var other => throw RefusalException.Invalid($"'tool_choice' is '{other}'; it must be none, auto, required or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.", "tool_choice"),
            },
            JsonValueKind.Object => (ToolChoiceMode.Named, (string?)NamedChoice(choice)),
            _ => throw RefusalException.Invalid($"'tool_choice' must be a string or an object, not {Describe(choice.ValueKind)}.", "tool_choice"),
        };
        if (!hasTools && result.Item1 is ToolChoiceMode.Required or ToolChoiceMode.Named)
            throw RefusalException.Invalid("'tool_choice' asks for a tool call, but the request has no 'tools'.", "tool_choice");
        return result;
    }

    private static string NamedChoice(JsonElement choice)
    {
        if (OptionalString(choice, "type", "tool_choice.type") != "function" || !choice.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid("'tool_choice' as an object must be {\"type\": \"function\", \"function\": {\"name\": ...}}.", "tool_choice");
        return OptionalString(function, "name", "tool_choice.function.name") ?? throw RefusalException.Invalid("'tool_choice.function.name' is required.", "tool_choice");
    }

    private static ToolFunction ReadTool(JsonElement tool, string path)
    {
        if (tool.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'{path}' must be an object.", "tools");
        foreach (var property in tool.EnumerateObject())
        {
            if (!ToolFields.Contains(property.Name))
                throw RefusalException.Invalid($"'{path}.{property.Name}' is not supported.", "tools");
        }
        if (OptionalString(tool, "type", $"{path}.type") != "function")
            throw RefusalException.Invalid($"'{path}.type' must be \"function\".", "tools");
        if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'{path}.function' is required: an object with 'name'.", "tools");
        foreach (var property in function.EnumerateObject())
        {
            if (!FunctionFields.Contains(property.Name))
                throw RefusalException.Invalid($"'{path}.function.{property.Name}' is not supported.", "tools");
        }
        string name = OptionalString(function, "name", $"{path}.function.name") ?? throw RefusalException.Invalid($"'{path}.function.name' is required.", "tools");
        if (!FunctionName().IsMatch(name))
            throw RefusalException.Invalid($"'{path}.function.name' must be 1 to 64 letters, digits, underscores or dashes (got '{name}').", "tools");
        string? description = OptionalString(function, "description", $"{path}.function.description");
        OptionalBool(function, "strict", $"{path}.function.strict");
        JsonElement parameters;
        if (!function.TryGetProperty("parameters", out parameters) || parameters.ValueKind == JsonValueKind.Null)
        {
            using var empty = JsonDocument.Parse("""{"type":"object","properties":{}}""");
            parameters = empty.RootElement.Clone();
        }
        else if (parameters.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'{path}.function.parameters' must be a JSON schema object.", "tools");
        return new ToolFunction(name, description, parameters.Clone());
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}
