using System.Text.Json.Nodes;

namespace Edge.Runtime.Tests.Templates;

/// <summary>Conversations to render: plain chats for every template, tool calls in each model's own format.</summary>
internal static class Conversations
{
    private static readonly string[] Systems =
    [
        "You are a helpful assistant on a factory floor.",
        "Answer in one sentence.\nBe precise.",
        "  Leading and trailing spaces  ",
        "你是一个工厂助手。",
    ];

    private static readonly string[] UserTurns =
    [
        "Hello!", "What is the status of line 3?", "Pressure is 4.2 bar. Is that OK?", "  spaced  out  ",
        "Multi\nline\n\nquestion?", "温度是多少？", "ラインの状態は？", "emoji 🚀🙂 test", "{\"json\": [1, 2]}",
        "Use <b>tags</b> & \"quotes\" 'here'", "\ttabbed", "ends with newline\n",
    ];

    private static readonly string[] AssistantTurns =
    [
        "Line 3 is running normally.", "Yes, 4.2 bar is within limits.", "  padded answer  ", "温度是 78°C。",
        "Answer with\nseveral lines.", "<think>\nLet me check the sensor.\n</think>\n\nThe sensor reads 12.",
    ];

    /// <summary>System/user/assistant chats, seeded: every template can render these.</summary>
    /// <param name="paddedAssistant">
    /// Whether assistant turns may start with spaces. Qwen3's template strips them with
    /// lstrip('\n'), which Jinja2 (and we) leave alone but @huggingface/jinja removes, since it
    /// ignores strip()'s argument; see ChatTemplateTests for that case.
    /// </param>
    public static List<JsonObject> Plain(int count, int seed, bool paddedAssistant = true)
    {
        var assistantTurns = paddedAssistant ? AssistantTurns : AssistantTurns.Where(t => !t.StartsWith(' ')).ToArray();
        var random = new Random(seed);
        var all = new List<JsonObject>();
        for (int i = 0; i < count; i++)
        {
            var messages = new JsonArray();
            if (i % 3 != 1)
                messages.Add(Message("system", Systems[random.Next(Systems.Length)]));
            int turns = 1 + random.Next(4);
            for (int t = 0; t < turns; t++)
            {
                messages.Add(Message("user", UserTurns[random.Next(UserTurns.Length)]));
                if (t < turns - 1 || i % 2 == 0)
                    messages.Add(Message("assistant", assistantTurns[random.Next(assistantTurns.Length)]));
            }
            all.Add(new JsonObject { ["messages"] = messages, ["add_generation_prompt"] = i % 4 != 3 });
        }
        return all;
    }

    /// <summary>DeepSeek-V3 tool calls: assistant content null with tool_calls, then tool outputs.</summary>
    public static List<JsonObject> DeepSeekTools()
    {
        var cases = new List<JsonObject>();
        for (int calls = 1; calls <= 3; calls++)
        {
            for (int outputs = 1; outputs <= 2; outputs++)
            {
                var messages = new JsonArray
                {
                    Message("system", "You can call tools."),
                    Message("user", "Read sensor 7 and the line speed."),
                };
                var toolCalls = new JsonArray();
                for (int c = 0; c < calls; c++)
                    toolCalls.Add(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = $"read_sensor_{c}", ["arguments"] = $"{{\"id\": {7 + c}}}" } });
                messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = toolCalls });
                for (int o = 0; o < outputs; o++)
                    messages.Add(Message("tool", $"{{\"value\": {40 + o}}}"));
                messages.Add(Message("assistant", "Sensor 7 reads 40."));
                messages.Add(Message("user", "Thanks."));
                cases.Add(new JsonObject { ["messages"] = messages, ["add_generation_prompt"] = true });
                var open = (JsonArray)messages.DeepClone();
                open.RemoveAt(open.Count - 1);
                open.RemoveAt(open.Count - 1);
                cases.Add(new JsonObject { ["messages"] = open, ["add_generation_prompt"] = calls % 2 == 0 });
            }
        }
        return cases;
    }

    /// <summary>Qwen3 tools: definitions rendered with tojson, tool_calls with object arguments, tool responses, thinking switch.</summary>
    public static List<JsonObject> QwenTools()
    {
        var tools = JsonNode.Parse("""
            [{"type": "function", "function": {"name": "read_sensor", "description": "Read a sensor value.",
              "parameters": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 0}, "unit": {"type": "string", "enum": ["C", "F"]}}, "required": ["id"]}}},
             {"type": "function", "function": {"name": "stop_line", "description": "Stop a production line.", "parameters": {"type": "object", "properties": {}}}}]
            """)!;
        var cases = new List<JsonObject>();
        for (int variant = 0; variant < 6; variant++)
        {
            var messages = new JsonArray();
            if (variant % 2 == 0)
                messages.Add(Message("system", "Plant assistant."));
            messages.Add(Message("user", "What does sensor 3 read?"));
            var call = new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = variant % 3 == 0 ? "" : "<think>\nI need the sensor.\n</think>\n\nLet me check.",
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "read_sensor", ["arguments"] = variant < 3 ? JsonNode.Parse("{\"id\": 3, \"unit\": \"C\"}") : "{\"id\": 3}" },
                }),
            };
            messages.Add(call);
            messages.Add(Message("tool", "{\"value\": 21.5}"));
            if (variant >= 2)
                messages.Add(Message("tool", "{\"status\": \"ok\"}"));
            if (variant >= 4)
                messages.Add(Message("assistant", "<think>\nDone.\n</think>\n\nIt reads 21.5 C."));
            var vars = new JsonObject { ["messages"] = messages, ["add_generation_prompt"] = variant < 4, ["tools"] = variant == 5 ? null : tools.DeepClone() };
            if (variant == 1)
                vars["enable_thinking"] = false;
            cases.Add(vars);
        }
        return cases;
    }

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };
}
