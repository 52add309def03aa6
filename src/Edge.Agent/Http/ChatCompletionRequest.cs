using System.Text.Json;
using System.Text.Json.Nodes;
using static Edge.Agent.Http.JsonFields;

namespace Edge.Agent.Http;

/// <summary>A validated /v1/chat/completions request: messages normalised for the chat template.</summary>
internal sealed record ChatCompletionRequest(JsonElement Messages, GenerationParameters Parameters)
{
    private static readonly HashSet<string> Known = [.. GenerationParameters.Names, "messages", "max_completion_tokens", "tools", "tool_choice", "logprobs"];
    private static readonly HashSet<string> MessageFields = ["role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content"];

    public static ChatCompletionRequest Read(JsonElement root, string? envelopeField = null)
    {
        JsonRoute.RequireObject(root);
        RefuseUnknown(root, Known, envelopeField);
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
            throw new BadRequestException("'tools' is not supported yet: replies are not parsed into tool calls. Earlier tool calls and results in 'messages' are fine.", "tools");
        if (OptionalString(root, "tool_choice") is { } choice && choice != "none")
            throw new BadRequestException("'tool_choice' other than \"none\" is not supported yet.", "tool_choice");
        if (OptionalBool(root, "logprobs") == true)
            throw new BadRequestException("'logprobs' is not supported yet.", "logprobs");
        var messages = NormaliseMessages(root);
        return new ChatCompletionRequest(messages, GenerationParameters.Read(root, maxTokensAlias: "max_completion_tokens"));
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
            throw new BadRequestException("'messages' is required.", "messages");
        if (messages.ValueKind != JsonValueKind.Array)
            throw new BadRequestException($"'messages' must be an array, not {Describe(messages.ValueKind)}.", "messages");
        if (messages.GetArrayLength() == 0)
            throw new BadRequestException("'messages' is empty: send at least one message.", "messages");
        var normalised = new JsonArray();
        int index = 0;
        foreach (var message in messages.EnumerateArray())
            normalised.Add((JsonNode)ReadMessage(message, $"messages[{index++}]"));
        return normalised;
    }

    private static JsonObject ReadMessage(JsonElement message, string path)
    {
        if (message.ValueKind != JsonValueKind.Object)
            throw new BadRequestException($"'{path}' must be an object, not {Describe(message.ValueKind)}.", "messages");
        foreach (var property in message.EnumerateObject())
        {
            if (!MessageFields.Contains(property.Name))
                throw new BadRequestException($"'{path}.{property.Name}' is not supported.", "messages");
        }
        if (!message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'{path}.role' is required and must be a string.", "messages");
        string role = roleElement.GetString()! switch
        {
            "developer" => "system", // OpenAI's newer name for the system role
            "system" or "user" or "assistant" or "tool" => roleElement.GetString()!,
            var other => throw new BadRequestException($"'{path}.role' is '{other}'; it must be one of system, developer, user, assistant, tool.", "messages"),
        };
        var result = new JsonObject { ["role"] = role };

        bool hasToolCalls = message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind != JsonValueKind.Null;
        if (hasToolCalls)
        {
            if (role != "assistant")
                throw new BadRequestException($"'{path}.tool_calls' is only allowed on assistant messages.", "messages");
            result["tool_calls"] = ReadToolCalls(toolCalls, $"{path}.tool_calls");
        }
        result["content"] = ReadContent(message, path, allowNull: hasToolCalls);
        foreach (string optional in new[] { "name", "tool_call_id", "reasoning_content" })
        {
            if (JsonFields.OptionalString(message, optional) is { } value)
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
            throw new BadRequestException($"'{path}.content' is required.", "messages");
        }
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString();
        if (content.ValueKind != JsonValueKind.Array)
            throw new BadRequestException($"'{path}.content' must be a string or an array of text parts, not {Describe(content.ValueKind)}.", "messages");
        var text = new System.Text.StringBuilder();
        int index = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partPath = $"{path}.content[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
                throw new BadRequestException($"'{partPath}' must be an object.", "messages");
            string? type = JsonFields.OptionalString(part, "type");
            if (type != "text")
                throw new BadRequestException($"'{partPath}.type' is '{type}'; only text parts are supported.", "messages");
            text.Append(JsonFields.OptionalString(part, "text") ?? throw new BadRequestException($"'{partPath}.text' is required.", "messages"));
        }
        return text.ToString();
    }

    private static JsonArray ReadToolCalls(JsonElement toolCalls, string path)
    {
        if (toolCalls.ValueKind != JsonValueKind.Array)
            throw new BadRequestException($"'{path}' must be an array.", "messages");
        var result = new JsonArray();
        int index = 0;
        foreach (var call in toolCalls.EnumerateArray())
        {
            string callPath = $"{path}[{index++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                throw new BadRequestException($"'{callPath}' must be an object with a 'function' object.", "messages");
            string name = JsonFields.OptionalString(function, "name") ?? throw new BadRequestException($"'{callPath}.function.name' is required.", "messages");
            string arguments = JsonFields.OptionalString(function, "arguments") ?? throw new BadRequestException($"'{callPath}.function.arguments' is required (a JSON string).", "messages");
            var normalised = new JsonObject
            {
                ["type"] = JsonFields.OptionalString(call, "type") ?? "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
            };
            if (JsonFields.OptionalString(call, "id") is { } id)
                normalised["id"] = id;
            result.Add((JsonNode)normalised);
        }
        return result;
    }
}
