using System.Text.Json.Serialization;

namespace Edge.Agent.Ollama;

// Ollama's wire shapes (api.md of ollama/ollama): snake_case, durations in nanoseconds.

/// <summary>One line of /api/generate: a piece of the response, or (done) the last with the counts.</summary>
internal sealed record OllamaGenerateLine(string Model, string CreatedAt, string Response, bool Done,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Thinking = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DoneReason = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TotalDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? LoadDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PromptEvalCount = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? PromptEvalDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? EvalCount = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? EvalDuration = null);

/// <summary>One line of /api/chat.</summary>
internal sealed record OllamaChatLine(string Model, string CreatedAt, OllamaMessage Message, bool Done,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DoneReason = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TotalDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? LoadDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PromptEvalCount = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? PromptEvalDuration = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? EvalCount = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? EvalDuration = null);

internal sealed record OllamaMessage(string Role, string Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Thinking = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<OllamaToolCall>? ToolCalls = null);

/// <summary>Ollama's tool call: the arguments as a JSON object, not text.</summary>
internal sealed record OllamaToolCall(OllamaToolFunction Function);

internal sealed record OllamaToolFunction(string Name, System.Text.Json.JsonElement Arguments);

internal sealed record OllamaError(string Error);

internal sealed record OllamaVersion(string Version);

internal sealed record OllamaTags(IReadOnlyList<OllamaModel> Models);

internal sealed record OllamaModel(string Name, string Model, string ModifiedAt, long Size, string Digest, OllamaModelDetails Details);

internal sealed record OllamaModelDetails(string ParentModel, string Format, string Family, IReadOnlyList<string> Families, string ParameterSize, string QuantizationLevel);

/// <summary>/api/show: the template is the model's Jinja chat template (Ollama's own are Go templates; there is no Modelfile here).</summary>
internal sealed record OllamaShow(string License, string Modelfile, string Parameters, string Template, OllamaModelDetails Details,
    Dictionary<string, object> ModelInfo, IReadOnlyList<string> Capabilities, string ModifiedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OllamaGenerateLine))]
[JsonSerializable(typeof(OllamaChatLine))]
[JsonSerializable(typeof(OllamaError))]
[JsonSerializable(typeof(OllamaVersion))]
[JsonSerializable(typeof(OllamaTags))]
[JsonSerializable(typeof(OllamaShow))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
internal sealed partial class OllamaJsonContext : JsonSerializerContext
{
    /// <summary>Non-ASCII text as it is, as Ollama writes it.</summary>
    public static OllamaJsonContext Readable { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
