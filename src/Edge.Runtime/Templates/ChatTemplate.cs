using System.Text.Json;

namespace Edge.Runtime.Templates;

/// <summary>
/// A model's chat template (the Jinja "chat_template" of tokenizer_config.json), rendered as
/// Hugging Face renders it. Parsing checks every construct up front: a template that needs
/// something this engine lacks fails at load, with the construct named.
/// </summary>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Node> _nodes;

    private ChatTemplate(IReadOnlyList<Node> nodes) => _nodes = nodes;

    /// <exception cref="TemplateException">The template uses a construct this engine does not support, or has a syntax error.</exception>
    public static ChatTemplate Parse(string source) => new(JinjaParser.Parse(source));

    /// <summary>Renders with variables given as JSON (messages, tools, add_generation_prompt, bos_token, ...).</summary>
    /// <exception cref="TemplateException">The template refused the input (raise_exception) or hit a type error.</exception>
    public string Render(JsonElement variables)
    {
        if (variables.ValueKind != JsonValueKind.Object)
            throw new ArgumentException("Template variables must be a JSON object.", nameof(variables));
        return JinjaInterpreter.Render(_nodes, (Dictionary<string, object?>)JinjaValues.FromJson(variables)!);
    }

    /// <summary>Renders a conversation the way transformers' apply_chat_template does.</summary>
    public string RenderConversation(JsonElement messages, bool addGenerationPrompt, string? bosToken, string? eosToken,
        JsonElement? tools = null, IReadOnlyDictionary<string, JsonElement>? extra = null)
    {
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = JinjaValues.FromJson(messages),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bosToken ?? "",
            ["eos_token"] = eosToken ?? "",
        };
        if (tools is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } t)
            variables["tools"] = JinjaValues.FromJson(t);
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
                variables[name] = JinjaValues.FromJson(value);
        }
        return JinjaInterpreter.Render(_nodes, variables);
    }
}
