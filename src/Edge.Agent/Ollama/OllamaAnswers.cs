using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Edge.Agent.Core;
using Edge.Runtime.Inference;

namespace Edge.Agent.Ollama;

/// <summary>
/// The NDJSON lines of one Ollama answer: /api/generate's "response" pieces or /api/chat's message
/// pieces, the thinking in "thinking" (left out when the request said think: false), and a last
/// line with done_reason and the counts and durations Ollama reports, measured from the request.
/// </summary>
internal sealed class OllamaAnswers(bool chat, string model, ReasoningSplitter? splitter, bool includeThinking, Core.Tools.ToolAnswer? tools = null)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long? _firstToken;

    public IEnumerable<string> Lines(GenerationChunk chunk)
    {
        _firstToken ??= Stopwatch.GetTimestamp();
        var (thinking, content) = splitter is null ? ("", chunk.Text)
            : chunk.FinishReason is null ? splitter.Feed(chunk.Text) : Joined(splitter.Feed(chunk.Text), splitter.Flush());
        if (!includeThinking)
            thinking = "";
        IReadOnlyList<Core.Tools.ToolCall> calls = [];
        if (tools is not null)
        {
            content = tools.Feed(content);
            if (chunk.FinishReason is not null)
            {
                var (rest, found) = tools.Finish();
                content += rest;
                calls = found;
            }
        }
        if (thinking.Length > 0 || content.Length > 0 || calls.Count > 0)
            yield return Line(content, thinking.Length > 0 ? thinking : null, null, null, calls);
        if (chunk.FinishReason is { } reason && chunk.Usage is { } usage)
            yield return Line("", null, reason, usage);
    }

    /// <summary>The whole answer as one object (stream: false).</summary>
    public string Whole(CompletionResult result)
    {
        _firstToken ??= Stopwatch.GetTimestamp();
        return Line(result.Text, includeThinking && !string.IsNullOrEmpty(result.Reasoning) ? result.Reasoning : null, result.FinishReason, result.Usage, result.ToolCalls);
    }

    public static string Error(string message) => JsonSerializer.Serialize(new OllamaError(message), OllamaJsonContext.Readable.OllamaError);

    private string Line(string content, string? thinking, FinishReason? finish, GenerationUsage? usage, IReadOnlyList<Core.Tools.ToolCall>? calls = null)
    {
        string created = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        string? doneReason = finish is { } f ? (f == FinishReason.Length ? "length" : "stop") : null;
        long? total = usage is null ? null : Nanoseconds(_started, Stopwatch.GetTimestamp());
        long? promptEval = usage is null ? null : Nanoseconds(_started, _firstToken!.Value);
        long? eval = usage is null ? null : Nanoseconds(_firstToken!.Value, Stopwatch.GetTimestamp());
        long? load = usage is null ? null : 0; // the model is loaded before any request
        bool done = finish is not null;
        return chat
            ? JsonSerializer.Serialize(new OllamaChatLine(model, created, new OllamaMessage("assistant", content, thinking, ToolCalls(calls)), done, doneReason, total, load,
                usage?.PromptTokens, promptEval, usage?.CompletionTokens, eval), OllamaJsonContext.Readable.OllamaChatLine)
            : JsonSerializer.Serialize(new OllamaGenerateLine(model, created, content, done, thinking, doneReason, total, load,
                usage?.PromptTokens, promptEval, usage?.CompletionTokens, eval), OllamaJsonContext.Readable.OllamaGenerateLine);
    }

    private static List<OllamaToolCall>? ToolCalls(IReadOnlyList<Core.Tools.ToolCall>? calls)
    {
        if (calls is null || calls.Count == 0)
            return null;
        return [.. calls.Select(c =>
        {
            using var arguments = JsonDocument.Parse(c.Arguments);
            return new OllamaToolCall(new OllamaToolFunction(c.Name, arguments.RootElement.Clone()));
        })];
    }

    private static long Nanoseconds(long from, long to) => (long)(Stopwatch.GetElapsedTime(from, to).TotalMilliseconds * 1_000_000);

    private static (string, string) Joined((string Reasoning, string Content) a, (string Reasoning, string Content) b) => (a.Reasoning + b.Reasoning, a.Content + b.Content);
}
