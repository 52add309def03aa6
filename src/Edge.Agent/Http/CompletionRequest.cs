using System.Text.Json;

namespace Edge.Agent.Http;

/// <summary>A validated /v1/completions request.</summary>
internal sealed record CompletionRequest(string Prompt, int MaxTokens, string? Model);

/// <summary>A request the API refuses; <see cref="Param"/> names the offending field.</summary>
internal sealed class BadRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>
/// Reads an OpenAI completions request from JSON, refusing every wrong form with a message that
/// names the parameter. Parameters the engine cannot honour yet are refused, not ignored.
/// </summary>
internal static class CompletionRequestReader
{
    public const int DefaultMaxTokens = 16;

    private static readonly HashSet<string> Known = ["model", "prompt", "max_tokens", "user", "n", "stream", "temperature", "echo"];

    public static CompletionRequest Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new BadRequestException($"The request body must be a JSON object, not {Describe(root.ValueKind)}.");
        foreach (var property in root.EnumerateObject())
        {
            if (!Known.Contains(property.Name))
                throw new BadRequestException($"Parameter '{property.Name}' is not supported by this server.", property.Name);
        }

        string prompt = ReadPrompt(root);
        int maxTokens = DefaultMaxTokens;
        if (root.TryGetProperty("max_tokens", out var max) && max.ValueKind != JsonValueKind.Null)
        {
            if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out maxTokens))
                throw new BadRequestException($"'max_tokens' must be an integer, not {Describe(max.ValueKind)} {max.GetRawText()}.", "max_tokens");
            if (maxTokens < 1)
                throw new BadRequestException($"'max_tokens' must be at least 1 (got {maxTokens}).", "max_tokens");
        }
        string? model = OptionalString(root, "model");
        OptionalString(root, "user");
        RequireValue(root, "n", JsonValueKind.Number, n => n.TryGetInt32(out int v) && v == 1, "'n' must be 1: one completion per request.");
        RequireValue(root, "stream", JsonValueKind.False, _ => true, "'stream': true is not supported yet; send false or leave it out.");
        RequireValue(root, "echo", JsonValueKind.False, _ => true, "'echo': true is not supported; send false or leave it out.");
        RequireValue(root, "temperature", JsonValueKind.Number, t => t.TryGetDouble(out double v) && v == 0,
            "Only greedy decoding exists so far: 'temperature' must be 0 or left out.");
        return new CompletionRequest(prompt, maxTokens, model);
    }

    private static string ReadPrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            throw new BadRequestException("'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            prompt = prompt[0];
        if (prompt.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'prompt' must be a string (or an array holding one string), not {Describe(prompt.ValueKind)}.", "prompt");
        string text = prompt.GetString()!;
        if (text.Length == 0)
            throw new BadRequestException("'prompt' is empty.", "prompt");
        return text;
    }

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'{name}' must be a string, not {Describe(value.ValueKind)}.", name);
        return value.GetString();
    }

    private static void RequireValue(JsonElement root, string name, JsonValueKind kind, Func<JsonElement, bool> accepted, string message)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return;
        bool sameKind = value.ValueKind == kind || (kind == JsonValueKind.False && value.ValueKind == JsonValueKind.True);
        if (!sameKind)
            throw new BadRequestException($"'{name}' must be {(kind == JsonValueKind.False ? "a boolean" : "a number")}, not {Describe(value.ValueKind)}.", name);
        if (value.ValueKind == JsonValueKind.True || !accepted(value))
            throw new BadRequestException(message, name);
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
