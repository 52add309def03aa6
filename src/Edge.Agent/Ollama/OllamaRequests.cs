using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Agent.Core;
using Edge.Agent.OpenAi;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.Ollama;

/// <summary>
/// Reads Ollama's /api/generate and /api/chat bodies into the core's request, by translating them
/// to OpenAI's shape and reading that, so every check and every feature is the same on both APIs.
/// Ollama's own conventions are kept: stream defaults to true, num_predict -1 (the default) runs to
/// the end token or the context's end, format is "json" or a JSON schema, /api/generate applies the
/// model's chat template unless raw is set, and a model name may carry the ":latest" tag.
/// </summary>
internal static class OllamaRequests
{
    private static readonly HashSet<string> GenerateFields = ["model", "prompt", "suffix", "images", "format", "options", "system", "template", "context", "stream", "raw", "keep_alive", "think"];
    private static readonly HashSet<string> ChatFields = ["model", "messages", "tools", "format", "options", "stream", "keep_alive", "think"];
    private static readonly HashSet<string> MessageFields = ["role", "content", "images", "thinking", "tool_calls", "tool_name"];

    /// <summary>Options mapped onto OpenAI's parameters.</summary>
    private static readonly Dictionary<string, string> SamplingOptions = new()
    {
        ["temperature"] = "temperature", ["top_p"] = "top_p", ["top_k"] = "top_k", ["min_p"] = "min_p", ["seed"] = "seed", ["stop"] = "stop",
        ["repeat_penalty"] = "repetition_penalty", ["presence_penalty"] = "presence_penalty", ["frequency_penalty"] = "frequency_penalty",
    };

    /// <summary>
    /// Options about how Ollama's runner loads and runs a model (context size, GPU layers, threads,
    /// memory mapping): they have no meaning here and are accepted and ignored, as documented.
    /// </summary>
    private static readonly HashSet<string> RunnerOptions =
        ["num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread", "num_keep", "low_vram", "vocab_only", "use_mmap", "use_mlock", "numa", "f16_kv", "logits_all", "repeat_last_n", "penalize_newline"];

    /// <summary>Sampling options this server does not have: accepted only at the value that turns them off.</summary>
    private static readonly Dictionary<string, double> SamplersOff = new() { ["typical_p"] = 1, ["tfs_z"] = 1, ["mirostat"] = 0, ["mirostat_tau"] = 5, ["mirostat_eta"] = 0.1 };

    public static CompletionRequest ReadGenerate(JsonElement root, bool modelHasTemplate)
    {
        RequireObject(root);
        RefuseUnknown(root, GenerateFields);
        foreach (string unsupported in new[] { "suffix", "images", "template", "context" })
            RefuseNonEmpty(root, unsupported);
        string prompt = OptionalString(root, "prompt") ?? "";
        var openAi = Common(root);
        bool raw = OptionalBool(root, "raw") ?? false;
        string? system = OptionalString(root, "system");
        if (raw || !modelHasTemplate)
        {
            if (system is not null)
                throw RefusalException.Invalid("'system' needs the model's chat template; it cannot be used with raw prompts or a model without a template.", "system");
            openAi["prompt"] = prompt;
            return Finish(root, CompletionReader.Read(Parse(openAi)));
        }
        var messages = new JsonArray();
        if (system is not null)
            messages.Add((JsonNode)new JsonObject { ["role"] = "system", ["content"] = system });
        messages.Add((JsonNode)new JsonObject { ["role"] = "user", ["content"] = prompt });
        openAi["messages"] = messages;
        return Finish(root, ChatCompletionReader.Read(Parse(openAi)));
    }

    public static CompletionRequest ReadChat(JsonElement root)
    {
        RequireObject(root);
        RefuseUnknown(root, ChatFields);
        var openAi = Common(root);
        openAi["messages"] = Messages(root);
        // Ollama's tools are OpenAI's: [{"type": "function", "function": {name, description, parameters}}]; the model chooses (auto).
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
            openAi["tools"] = JsonNode.Parse(tools.GetRawText());
        return Finish(root, ChatCompletionReader.Read(Parse(openAi)));
    }

    private static CompletionRequest Finish(JsonElement root, CompletionRequest request) => request with
    {
        FillContext = !HasLength(root),
        IncludeReasoning = OptionalBool(root, "think") ?? true,
    };

    private static bool HasLength(JsonElement root) =>
        root.TryGetProperty("options", out var options) && options.ValueKind == JsonValueKind.Object
        && options.TryGetProperty("num_predict", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out int count) && count >= 0;

    /// <summary>The fields both routes share, in OpenAI's names.</summary>
    private static JsonObject Common(JsonElement root)
    {
        var openAi = new JsonObject { ["stream"] = OptionalBool(root, "stream") ?? true };
        if (OptionalString(root, "model") is { } model)
            openAi["model"] = model.EndsWith(":latest", StringComparison.Ordinal) ? model[..^":latest".Length] : model;
        OptionalString(root, "keep_alive"); // the model stays loaded: the daemon serves one
        if (root.TryGetProperty("format", out var format))
            openAi["response_format"] = Format(format);
        if (root.TryGetProperty("options", out var options) && options.ValueKind != JsonValueKind.Null)
            ReadOptions(options, openAi);
        return openAi;
    }

    private static JsonObject? Format(JsonElement format) => format.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String when format.GetString() == "" => null,
        JsonValueKind.String when format.GetString() == "json" => new JsonObject { ["type"] = "json_object" },
        JsonValueKind.Object => new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "format", ["schema"] = JsonNode.Parse(format.GetRawText()) } },
        _ => throw RefusalException.Invalid($"'format' must be \"json\" or a JSON schema object, not {(format.ValueKind == JsonValueKind.String ? $"\"{format.GetString()}\"" : Describe(format.ValueKind))}.", "format"),
    };

    private static void ReadOptions(JsonElement options, JsonObject openAi)
    {
        if (options.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'options' must be an object, not {Describe(options.ValueKind)}.", "options");
        foreach (var option in options.EnumerateObject())
        {
            if (option.Value.ValueKind == JsonValueKind.Null || RunnerOptions.Contains(option.Name))
                continue;
            if (SamplingOptions.TryGetValue(option.Name, out var name))
                openAi[name] = JsonNode.Parse(option.Value.GetRawText());
            else if (option.Name == "num_predict")
                ReadNumPredict(option.Value, openAi);
            else if (SamplersOff.TryGetValue(option.Name, out double off))
            {
                if (option.Value.ValueKind != JsonValueKind.Number || option.Value.GetDouble() != off)
                    throw RefusalException.Invalid($"'options.{option.Name}' is not supported by this server; only {off} (off) is accepted.", "options");
            }
            else
                throw RefusalException.Invalid($"'options.{option.Name}' is not supported by this server.", "options");
        }
    }

    private static void ReadNumPredict(JsonElement value, JsonObject openAi)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int count) || count is < -2 or 0)
            throw RefusalException.Invalid("'options.num_predict' must be a positive whole number, or -1 (to the end token or the context's end).", "options");
        if (count > 0)
            openAi["max_tokens"] = count;
    }

    /// <summary>Ollama's messages as OpenAI's: tool call arguments as JSON text, tool_name as name; earlier thinking dropped (templates drop it too).</summary>
    private static JsonArray Messages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid("'messages' is required: an array of messages.", "messages");
        var translated = new JsonArray();
        int index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string path = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
                throw RefusalException.Invalid($"'{path}' must be an object, not {Describe(message.ValueKind)}.", "messages");
            foreach (var property in message.EnumerateObject())
            {
                if (!MessageFields.Contains(property.Name))
                    throw RefusalException.Invalid($"'{path}.{property.Name}' is not supported.", "messages");
            }
            RefuseNonEmpty(message, "images", $"'{path}.images': this server runs text models only.");
            var result = new JsonObject();
            foreach (var property in message.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "role" or "content":
                        result[property.Name] = JsonNode.Parse(property.Value.GetRawText());
                        break;
                    case "tool_name":
                        result["name"] = JsonNode.Parse(property.Value.GetRawText());
                        break;
                    case "tool_calls" when property.Value.ValueKind == JsonValueKind.Array:
                        result["tool_calls"] = ToolCalls(property.Value, path);
                        break;
                }
            }
            translated.Add((JsonNode)result);
        }
        return translated;
    }

    private static JsonArray ToolCalls(JsonElement calls, string path)
    {
        var result = new JsonArray();
        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw RefusalException.Invalid($"'{path}.tool_calls' must hold objects with a 'function' object.", "messages");
            var arguments = function.TryGetProperty("arguments", out var a) ? a : default;
            result.Add((JsonNode)new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = OptionalString(function, "name"),
                    ["arguments"] = arguments.ValueKind == JsonValueKind.String ? arguments.GetString() : arguments.ValueKind == JsonValueKind.Undefined ? "{}" : arguments.GetRawText(),
                },
            });
        }
        return result;
    }

    private static void RefuseNonEmpty(JsonElement root, string name, string? message = null)
    {
        if (!root.TryGetProperty(name, out var value))
            return;
        bool empty = value.ValueKind switch
        {
            JsonValueKind.Null => true,
            JsonValueKind.String => value.GetString()!.Length == 0,
            JsonValueKind.Array => value.GetArrayLength() == 0,
            _ => false,
        };
        if (!empty)
            throw RefusalException.Invalid(message ?? $"'{name}' is not supported by this server.", name);
    }

    private static JsonElement Parse(JsonObject openAi)
    {
        using var document = JsonDocument.Parse(openAi.ToJsonString());
        return document.RootElement.Clone();
    }
}
