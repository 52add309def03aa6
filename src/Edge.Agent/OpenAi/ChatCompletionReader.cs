using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Agent.Core;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.OpenAi;

/// <summary>Reads a /v1/chat/completions request (OpenAI's shape) into the core's request, its messages normalised for the chat template.</summary>
internal static class ChatCompletionReader
{
    private static readonly HashSet<string> Known = [.. GenerationParameters.Names, "messages", "max_completion_tokens", "tools", "tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs", "include_reasoning",
        "modalities", "audio", "prediction", "reasoning_effort", "verbosity", "web_search_options", "functions", "function_call"];
    private static readonly HashSet<string> MessageFields = ["role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content"];

    public static CompletionRequest Read(JsonElement root, string? envelopeField = null)
    {
        RequireObject(root);
        RefuseUnknown(root, Known, envelopeField);
        var tools = ToolReader.Read(root);
        RefuseInapplicable(root);
        bool logprobs = OptionalBool(root, "logprobs") ?? false;
        int? top = OptionalInt(root, "top_logprobs");
        if (top is not null && !logprobs)
            throw RefusalException.Invalid("'top_logprobs' needs 'logprobs': true.", "top_logprobs");
        var messages = NormaliseMessages(root);
        var parameters = GenerationParameters.Read(root, maxTokensAlias: "max_completion_tokens");
        var settings = logprobs ? parameters.Settings with { TopLogprobs = top ?? 0 } : parameters.Settings;
        return CompletionRequest.Chat(messages, settings, parameters.Stream, parameters.IncludeUsage) with
        {
            Model = parameters.Model,
            SamplingGiven = parameters.SamplingGiven,
            // OpenRouter's and vLLM's name: false leaves a reasoning model's thinking out of the answer.
            IncludeReasoning = OptionalBool(root, "include_reasoning") ?? true,
            Tools = tools,
            ChoiceCount = parameters.ChoiceCount,
        };
    }

    /// <summary>
    /// OpenAI's chat parameters that name something this server has not: audio, web search and the
    /// deprecated functions are refused by name; modalities must be text; a prediction (a speed hint
    /// that never changes the answer), reasoning_effort and verbosity are checked and ignored.
    /// </summary>
    private static void RefuseInapplicable(JsonElement root)
    {
        foreach (var (name, why) in new[]
        {
            ("audio", "this server runs text models only"),
            ("web_search_options", "the device has no web search (plant networks are offline)"),
            ("functions", "it is deprecated: send 'tools'"),
            ("function_call", "it is deprecated: send 'tool_choice'"),
        })
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
                throw RefusalException.Invalid($"'{name}' is not supported: {why}.", name);
        }
        if (root.TryGetProperty("modalities", out var modalities) && modalities.ValueKind != JsonValueKind.Null
            && (modalities.ValueKind != JsonValueKind.Array || modalities.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || m.GetString() != "text")))
            throw RefusalException.Invalid("'modalities' may only be [\"text\"]: this server runs text models only.", "modalities");
        OptionalString(root, "reasoning_effort");
        OptionalString(root, "verbosity");
        if (root.TryGetProperty("prediction", out var prediction) && prediction.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw RefusalException.Invalid($"'prediction' must be an object, not {Describe(prediction.ValueKind)}.", "prediction");
    }

    /// <summary>The request's 'messages', checked and normalised for the chat template.</summary>
    public static JsonElement NormaliseMessages(JsonElement root)
    {
        using var document = JsonDocument.Parse(ReadMessages(root).ToJsonString());
        return document.RootElement.Clone();
    }

    private static JsonArray ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
            throw RefusalException.Invalid("'messages' is required.", "messages");
        if (messages.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid($"'messages' must be an array, not {Describe(messages.ValueKind)}.", "messages");
        if (messages.GetArrayLength() == 0)
            throw RefusalException.Invalid("'messages' is empty: send at least one message.", "messages");
        var normalised = new JsonArray();
        int index = 0;
        foreach (var message in messages.EnumerateArray())
            normalised.Add((JsonNode)ReadMessage(message, $"messages[{index++}]"));
        return normalised;
    }

    private static JsonObject ReadMessage(JsonElement message, string path)
    {
        if (message.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'{path}' must be an object, not {Describe(message.ValueKind)}.", "messages");
        foreach (var property in message.EnumerateObject())
        {
            if (!MessageFields.Contains(property.Name))
                throw RefusalException.Invalid($"'{path}.{property.Name}' is not supported.", "messages");
        }
        if (!message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            throw RefusalException.Invalid($"'{path}.role' is required and must be a string.", "messages");
        string role = roleElement.GetString()! switch
        {
            "developer" => "system", // OpenAI's newer name for the system role
            "system" or "user" or "assistant" or "tool" => roleElement.GetString()!,
            var other => throw RefusalException.Invalid($"'{path}.role' is '{other}'; it must be one of system, developer, user, assistant, tool.", "messages"),
        };
        var result = new JsonObject { ["role"] = role };

        bool hasToolCalls = message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind != JsonValueKind.Null;
        if (hasToolCalls)
        {
            if (role != "assistant")
                throw RefusalException.Invalid($"'{path}.tool_calls' is only allowed on assistant messages.", "messages");
            result["tool_calls"] = ReadToolCalls(toolCalls, $"{path}.tool_calls");
        }
        result["content"] = ReadContent(message, path, allowNull: hasToolCalls);
        foreach (string optional in new[] { "name", "tool_call_id", "reasoning_content" })
        {
            if (OptionalString(message, optional) is { } value)
                result[optional] = value;
        }
        return result;
    }

    private static string? ReadContent(JsonElement message, string path, bool allowNull)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            if (allowNull)
                return null;
            throw RefusalException.Invalid($"'{path}.content' is required.", "messages");
        }
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString();
        if (content.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid($"'{path}.content' must be a string or an array of text parts, not {Describe(content.ValueKind)}.", "messages");
        var text = new System.Text.StringBuilder();
        int index = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partPath = $"{path}.content[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
                throw RefusalException.Invalid($"'{partPath}' must be an object.", "messages");
            string? type = OptionalString(part, "type");
            if (type != "text")
                throw RefusalException.Invalid($"'{partPath}.type' is '{type}'; only text parts are supported.", "messages");
            text.Append(OptionalString(part, "text") ?? throw RefusalException.Invalid($"'{partPath}.text' is required.", "messages"));
        }
        return text.ToString();
    }

    private static JsonArray ReadToolCalls(JsonElement toolCalls, string path)
    {
        if (toolCalls.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid($"'{path}' must be an array.", "messages");
        var result = new JsonArray();
        int index = 0;
        foreach (var call in toolCalls.EnumerateArray())
        {
            string callPath = $"{path}[{index++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw RefusalException.Invalid($"'{callPath}' must be an object with a 'function' object.", "messages");
            string name = OptionalString(function, "name") ?? throw RefusalException.Invalid($"'{callPath}.function.name' is required.", "messages");
            string arguments = OptionalString(function, "arguments") ?? throw RefusalException.Invalid($"'{callPath}.function.arguments' is required (a JSON string).", "messages");
            var normalised = new JsonObject
            {
                ["type"] = OptionalString(call, "type") ?? "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
            };
            if (OptionalString(call, "id") is { } id)
                normalised["id"] = id;
            result.Add((JsonNode)normalised);
        }
        return result;
    }
}
