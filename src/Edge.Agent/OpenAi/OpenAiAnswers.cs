using System.Text.Json;
using Edge.Agent.Core;
using Edge.Runtime.Inference;

namespace Edge.Agent.OpenAi;

/// <summary>
/// The OpenAI response bodies of one answer, shared by every transport that speaks OpenAI's
/// shapes: the whole answer, the stream's events, and the error body.
/// </summary>
internal sealed record OpenAiAnswers(CompletionKind Kind, string Id, long Created, string Model, ReasoningSplitter? Splitter, bool IncludeReasoning,
    Edge.Runtime.Tokenization.ModelTokenizer? Tokenizer, string? Echo, Core.Tools.ToolAnswer? Tools)
{
    /// <summary>Characters of completion text sent so far in a stream, for the legacy logprobs' text_offset.</summary>
    private int _sent;

    /// <summary>Which of the request's n choices these answers are.</summary>
    public int Index { get; init; }

    /// <param name="splitter">Chat answers: tells the thinking (reasoning_content) from the answer (content) as the stream goes.</param>
    /// <param name="includeReasoning">False drops the thinking from the stream (include_reasoning: false).</param>
    /// <param name="tokenizer">Spells out token ids, for answers with log probabilities.</param>
    /// <param name="echo">Completions' echo: the prompt, which the answer's text begins with.</param>
    /// <param name="tools">Chat answers with tools: reads the calls out of the stream (content before them streams as it comes).</param>
    public static OpenAiAnswers For(CompletionKind kind, string model, string? id = null, ReasoningSplitter? splitter = null, bool includeReasoning = true,
        Edge.Runtime.Tokenization.ModelTokenizer? tokenizer = null, string? echo = null, Core.Tools.ToolAnswer? tools = null) =>
        new(kind, id ?? (kind == CompletionKind.Chat ? $"chatcmpl-{Guid.NewGuid():N}" : $"cmpl-{Guid.NewGuid():N}"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model,
            kind == CompletionKind.Chat ? splitter : null, includeReasoning, tokenizer, kind == CompletionKind.Text ? echo : null, kind == CompletionKind.Chat ? tools : null);

    private static IReadOnlyList<ToolCallEntry>? Entries(IReadOnlyList<Core.Tools.ToolCall> calls, bool indexed) => calls.Count == 0 ? null
        : [.. calls.Select((c, i) => new ToolCallEntry(indexed ? i : null, c.Id, "function", new ToolCallFunction(c.Name, c.Arguments)))];

    private ChatLogprobs? ChatLogprobsOf(IReadOnlyList<TokenLogprob>? tokens) => tokens is null || Tokenizer is null ? null : LogprobShapes.Chat(tokens, Tokenizer);

    private CompletionLogprobs? CompletionLogprobsOf(IReadOnlyList<TokenLogprob>? tokens, int offset) =>
        tokens is null || Tokenizer is null ? null : LogprobShapes.Completion(tokens, Tokenizer, offset);

    /// <summary>The whole answer as JSON.</summary>
    public byte[] Whole(CompletionResult result) => Whole([result]);

    /// <summary>The whole answer of n choices as JSON: usage counts the prompt once and every choice's tokens.</summary>
    public byte[] Whole(IReadOnlyList<CompletionResult> results)
    {
        var usage = ToUsage(new GenerationUsage(results[0].Usage.PromptTokens, results.Sum(r => r.Usage.CompletionTokens)));
        return Kind == CompletionKind.Chat
            ? JsonSerializer.SerializeToUtf8Bytes(new ChatCompletionResponse(Id, "chat.completion", Created, Model,
                [.. results.Select((r, i) => new ChatChoice(i, new ChatMessage("assistant", r.ToolCalls.Count > 0 && r.Text.Length == 0 ? null : r.Text,
                    string.IsNullOrEmpty(r.Reasoning) ? null : r.Reasoning, Entries(r.ToolCalls, indexed: false)), ChatLogprobsOf(r.Logprobs), Finish(r)))], usage),
                AgentJsonContext.Readable.ChatCompletionResponse)
            : JsonSerializer.SerializeToUtf8Bytes(new CompletionResponse(Id, "text_completion", Created, Model,
                [.. results.Select((r, i) => new CompletionChoice(i, Echo + r.Text, CompletionLogprobsOf(r.Logprobs, 0), Finish(r)))], usage), AgentJsonContext.Readable.CompletionResponse);
    }

    private static string Finish(CompletionResult result) => result.ToolCalls.Count > 0 ? "tool_calls" : FinishReasonName(result.FinishReason);

    /// <summary>The stream's usage event for all choices together (stream_options.include_usage with n > 1).</summary>
    public string UsageEvent(GenerationUsage usage) => Kind == CompletionKind.Chat ? Chat([], ToUsage(usage)) : Text([], ToUsage(usage));

    /// <summary>The event a stream opens with, if its kind has one (chat's role delta; the echoed prompt of a completion).</summary>
    public string? Opening() => Kind == CompletionKind.Chat
        ? Chat([new ChatChunkChoice(Index, new ChatDelta("assistant", ""), null, null)])
        : string.IsNullOrEmpty(Echo) ? null : Text([new CompletionChoice(Index, Echo, null, null)], null);

    /// <summary>The stream events one update makes: its text, its finish reason, and the usage when asked for.</summary>
    public IEnumerable<string> Events(GenerationChunk chunk, bool includeUsage)
    {
        string? finish = chunk.FinishReason is { } reason ? FinishReasonName(reason) : null;
        if (Kind == CompletionKind.Chat)
        {
            var (reasoning, content) = Splitter is null ? ("", chunk.Text)
                : finish is null ? Splitter.Feed(chunk.Text) : Joined(Splitter.Feed(chunk.Text), Splitter.Flush());
            // The tokens' log probabilities ride on the first event their text makes, or on an empty delta where it makes none (held back).
            var logprobs = ChatLogprobsOf(chunk.Logprobs is { Count: > 0 } some ? some : null);
            if (reasoning.Length > 0 && IncludeReasoning)
            {
                yield return Chat([new ChatChunkChoice(Index, new ChatDelta(null, null, reasoning), logprobs, null)]);
                logprobs = null;
            }
            IReadOnlyList<Core.Tools.ToolCall> calls = [];
            if (Tools is not null)
            {
                content = Tools.Feed(content);
                if (finish is not null)
                {
                    var (rest, found) = Tools.Finish();
                    content += rest;
                    calls = found;
                }
            }
            if (content.Length > 0 || logprobs is not null)
                yield return Chat([new ChatChunkChoice(Index, new ChatDelta(null, content), logprobs, null)]);
            if (calls.Count > 0)
                yield return Chat([new ChatChunkChoice(Index, new ChatDelta(null, null, null, Entries(calls, indexed: true)), null, null)]);
            if (finish is not null)
                yield return Chat([new ChatChunkChoice(Index, new ChatDelta(null, null), null, calls.Count > 0 ? "tool_calls" : finish)]);
        }
        else if (chunk.Text.Length > 0 || finish is not null || chunk.Logprobs is { Count: > 0 })
        {
            yield return Text([new CompletionChoice(Index, chunk.Text, CompletionLogprobsOf(chunk.Logprobs, _sent), finish)], null);
            _sent += chunk.Text.Length;
        }
        if (chunk.Usage is { } usage && includeUsage)
            yield return Kind == CompletionKind.Chat ? Chat([], ToUsage(usage)) : Text([], ToUsage(usage));
    }

    private static (string, string) Joined((string Reasoning, string Content) a, (string Reasoning, string Content) b) => (a.Reasoning + b.Reasoning, a.Content + b.Content);

    private string Chat(IReadOnlyList<ChatChunkChoice> choices, OpenAiUsage? usage = null) =>
        JsonSerializer.Serialize(new ChatCompletionChunk(Id, "chat.completion.chunk", Created, Model, choices, usage), AgentJsonContext.Readable.ChatCompletionChunk);

    private string Text(IReadOnlyList<CompletionChoice> choices, OpenAiUsage? usage) =>
        JsonSerializer.Serialize(new CompletionResponse(Id, "text_completion", Created, Model, choices, usage), AgentJsonContext.Readable.CompletionResponse);

    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "cancelled",
    };

    public static OpenAiUsage ToUsage(GenerationUsage usage) => new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);

    /// <summary>OpenAI's error body; <paramref name="serverFault"/> marks the engine's fault rather than the request's.</summary>
    public static ErrorResponse Error(string message, string? parameter = null, string? code = null, bool serverFault = false) =>
        new(new ErrorBody(message, serverFault ? "server_error" : "invalid_request_error", parameter, code));
}
