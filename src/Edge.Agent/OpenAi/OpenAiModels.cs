using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Agent.OpenAi;

// The OpenAI wire shapes the agent writes. Requests are read by hand (CompletionReader, ChatCompletionReader)
// so that every wrong form gets a message naming the parameter.

internal sealed record CompletionResponse(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<CompletionChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OpenAiUsage? Usage);

/// <summary>One choice; in a stream, finish_reason stays null until the last chunk.</summary>
internal sealed record CompletionChoice(int Index, string Text, CompletionLogprobs? Logprobs, string? FinishReason);

/// <summary>The legacy completions logprobs: parallel lists per token, and each position's alternatives as token-to-logprob maps.</summary>
internal sealed record CompletionLogprobs(IReadOnlyList<string> Tokens, IReadOnlyList<float> TokenLogprobs, IReadOnlyList<Dictionary<string, float>> TopLogprobs, IReadOnlyList<int> TextOffset);

internal sealed record ChatCompletionResponse(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChatChoice> Choices,
    OpenAiUsage Usage);

internal sealed record ChatChoice(int Index, ChatMessage Message, ChatLogprobs? Logprobs, string FinishReason);

/// <summary>Chat logprobs: one entry per output token.</summary>
internal sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content);

internal sealed record ChatTokenLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

internal sealed record ChatTopLogprob(string Token, float Logprob, IReadOnlyList<int> Bytes);

/// <summary>An assistant message; reasoning_content (DeepSeek's API) holds a reasoning model's thinking; content is null when the answer is only tool calls.</summary>
internal sealed record ChatMessage(string Role, string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallEntry>? ToolCalls = null);

/// <summary>A tool call as OpenAI writes it (in a stream delta, with its index among the answer's calls).</summary>
internal sealed record ToolCallEntry(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Index,
    string Id, string Type, ToolCallFunction Function);

internal sealed record ToolCallFunction(string Name, string Arguments);

/// <summary>A chat.completion.chunk of a stream.</summary>
internal sealed record ChatCompletionChunk(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OpenAiUsage? Usage);

internal sealed record ChatChunkChoice(int Index, ChatDelta Delta, ChatLogprobs? Logprobs, string? FinishReason);

internal sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallEntry>? ToolCalls = null);

internal sealed record OpenAiUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record ErrorResponse(ErrorBody Error);

internal sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

internal sealed record HealthResponse(string Status);

/// <summary>/readyz: "ready", or "degraded" with the reason (HTTP 503).</summary>
internal sealed record ReadyResponse(string Status, string Model, string Version, string Provider, int ContextLength,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

internal sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

/// <summary>
/// A model of /v1/models: OpenAI's fields, vLLM's max_model_len, and what an integrator needs to
/// know about the served weights (architecture, parameters, quantization, where they came from).
/// </summary>
internal sealed record ModelCard(string Id, string Object, long Created, string OwnedBy, int MaxModelLen,
    string? Version = null, string? Architecture = null, long? Parameters = null, long? ActiveParameters = null, string? Quantization = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null,
    GenerationDefaultsCard? GenerationDefaults = null);

/// <summary>The sampling a request gets for each parameter it leaves out (the model's generation_config.json, or greedy).</summary>
internal sealed record GenerationDefaultsCard(float Temperature, float TopP, int TopK, float RepetitionPenalty);

internal sealed record TokenizeResponse(IReadOnlyList<int> Tokens, int Count, int MaxModelLen);

internal sealed record DetokenizeResponse(string Prompt);

/// <summary>An update's outcome: "installed", "refused", or "none" before the first attempt.</summary>
internal sealed record UpdateResponse(string Status, string? Version, string? PreviousVersion, string? Reason, long At);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
[JsonSerializable(typeof(TokenizeResponse))]
[JsonSerializable(typeof(DetokenizeResponse))]
[JsonSerializable(typeof(UpdateResponse))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(string))]
internal sealed partial class AgentJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Writes apostrophes and non-ASCII text as they are (not \u0027), so errors and completions
    /// read well in curl. These bodies are JSON for API clients, never embedded in HTML.
    /// </summary>
    public static AgentJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
