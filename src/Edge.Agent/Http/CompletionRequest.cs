using System.Text.Json;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>A validated /v1/completions request.</summary>
internal sealed record CompletionRequest(string Prompt, GenerationSettings Settings, string? Model, bool Stream, bool IncludeUsage);

/// <summary>A request the API refuses; <see cref="Param"/> names the offending field.</summary>
internal sealed class BadRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>
/// Reads an OpenAI completions request from JSON, refusing every wrong form with a message that
/// names the parameter. Unknown parameters are refused, not ignored. Ranges are checked by the
/// engine (<see cref="GenerationSettings.Validate"/>), which names the parameter too.
/// </summary>
internal static class CompletionRequestReader
{
    public const int DefaultMaxTokens = 16;

    private static readonly HashSet<string> Known =
    [
        "model", "prompt", "max_tokens", "user", "n", "stream", "stream_options", "echo", "temperature", "top_p", "seed", "stop",
        "presence_penalty", "frequency_penalty",
        // Common extensions (vLLM, llama.cpp):
        "top_k", "min_p", "repetition_penalty",
    ];

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
        string? model = OptionalString(root, "model");
        OptionalString(root, "user");
        int? n = OptionalInt(root, "n");
        if (n is not null and not 1)
            throw new BadRequestException("'n' must be 1: one completion per request.", "n");
        if (OptionalBool(root, "echo") == true)
            throw new BadRequestException("'echo': true is not supported; send false or leave it out.", "echo");
        bool stream = OptionalBool(root, "stream") ?? false;
        bool includeUsage = ReadStreamOptions(root, stream);

        var settings = new GenerationSettings
        {
            MaxTokens = OptionalInt(root, "max_tokens") ?? DefaultMaxTokens,
            Temperature = OptionalFloat(root, "temperature") ?? 0f,
            TopP = OptionalFloat(root, "top_p") ?? 1f,
            TopK = OptionalInt(root, "top_k") ?? 0,
            MinP = OptionalFloat(root, "min_p") ?? 0f,
            RepetitionPenalty = OptionalFloat(root, "repetition_penalty") ?? 1f,
            PresencePenalty = OptionalFloat(root, "presence_penalty") ?? 0f,
            FrequencyPenalty = OptionalFloat(root, "frequency_penalty") ?? 0f,
            Seed = OptionalLong(root, "seed"),
            StopStrings = ReadStop(root),
        };
        return new CompletionRequest(prompt, settings, model, stream, includeUsage);
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

    private static bool ReadStreamOptions(JsonElement root, bool stream)
    {
        if (!root.TryGetProperty("stream_options", out var options) || options.ValueKind == JsonValueKind.Null)
            return false;
        if (!stream)
            throw new BadRequestException("'stream_options' is only allowed with 'stream': true.", "stream_options");
        if (options.ValueKind != JsonValueKind.Object)
            throw new BadRequestException($"'stream_options' must be an object, not {Describe(options.ValueKind)}.", "stream_options");
        foreach (var property in options.EnumerateObject())
        {
            if (property.Name != "include_usage")
                throw new BadRequestException($"'stream_options.{property.Name}' is not supported.", "stream_options");
        }
        return OptionalBool(options, "include_usage", "stream_options.include_usage") ?? false;
    }

    private static List<string> ReadStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
            return [];
        if (stop.ValueKind == JsonValueKind.String)
            return [stop.GetString()!];
        if (stop.ValueKind != JsonValueKind.Array)
            throw new BadRequestException($"'stop' must be a string or an array of strings, not {Describe(stop.ValueKind)}.", "stop");
        var stops = new List<string>();
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new BadRequestException($"'stop' must hold only strings, not {Describe(item.ValueKind)}.", "stop");
            stops.Add(item.GetString()!);
        }
        return stops;
    }

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'{name}' must be a string, not {Describe(value.ValueKind)}.", name);
        return value.GetString();
    }

    private static bool? OptionalBool(JsonElement root, string name, string? display = null)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw new BadRequestException($"'{display ?? name}' must be a boolean, not {Describe(value.ValueKind)}.", display ?? name);
        return value.GetBoolean();
    }

    private static int? OptionalInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
            throw new BadRequestException($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    private static long? OptionalLong(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long result))
            throw new BadRequestException($"'{name}' must be an integer, not {Describe(value.ValueKind)} {value.GetRawText()}.", name);
        return result;
    }

    private static float? OptionalFloat(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double result) || !double.IsFinite(result))
            throw new BadRequestException($"'{name}' must be a number, not {Describe(value.ValueKind)}.", name);
        return (float)result;
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
