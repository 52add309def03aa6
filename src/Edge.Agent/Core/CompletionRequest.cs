using System.Text;
using System.Text.Json;
using Edge.Runtime.Inference;

namespace Edge.Agent.Core;

/// <summary>A plain-text prompt to continue, or a conversation for the model's chat template.</summary>
internal enum CompletionKind
{
    Text,
    Chat,
}

/// <summary>
/// A completion request as every transport hands it to the core: the prompt or the messages,
/// the generation settings, and how the answer is wanted (streamed, with usage). Checked for
/// shape by the transport's reader; for limits, health and the model by <see cref="CompletionService"/>.
/// </summary>
internal sealed record CompletionRequest(CompletionKind Kind, string? Prompt, JsonElement? Messages, GenerationSettings Settings, bool Stream, bool IncludeUsage)
{
    /// <summary>The model the caller asked for; null when it named none (the served model answers).</summary>
    public string? Model { get; init; }

    /// <summary>
    /// The sampling parameters the caller set; the served model's generation defaults fill in the
    /// rest (its generation_config.json, or greedy). None set: all come from the model.
    /// </summary>
    public IReadOnlySet<string> SamplingGiven { get; init; } = new HashSet<string>();

    /// <summary>
    /// No length was given and none is wanted (Ollama's default num_predict -1): generate until the
    /// end token, the context's end, or the server's Limits:MaxTokens, whichever comes first.
    /// </summary>
    public bool FillContext { get; init; }

    /// <summary>The functions a chat offers and how they may be called; null when it offers none.</summary>
    public Tools.ToolSettings? Tools { get; init; }

    /// <summary>
    /// n: choices to generate for the one prompt, run as separate sequences of one batch; each
    /// after the first gets seed + i when a seed was given, so seeded choices differ and repeat.
    /// </summary>
    public int ChoiceCount { get; init; } = 1;

    /// <summary>The request for choice <paramref name="index"/> of n.</summary>
    public CompletionRequest ForChoice(int index) => index == 0 || Settings.Seed is null ? this : this with { Settings = Settings with { Seed = Settings.Seed + index } };

    /// <summary>Completions' echo: the answer's text begins with the prompt.</summary>
    public bool Echo { get; init; }

    /// <summary>Whether a reasoning model's thinking goes back to the caller (reasoning_content); false leaves it out of the answer entirely.</summary>
    public bool IncludeReasoning { get; init; } = true;

    public static CompletionRequest Text(string prompt, GenerationSettings settings, bool stream = false, bool includeUsage = false) =>
        new(CompletionKind.Text, prompt, null, settings, stream, includeUsage);

    public static CompletionRequest Chat(JsonElement messages, GenerationSettings settings, bool stream = false, bool includeUsage = false) =>
        new(CompletionKind.Chat, null, messages, settings, stream, includeUsage);

    /// <summary>The input's size in UTF-8 bytes (the messages as JSON), what the prompt byte limit counts; measured once.</summary>
    public long PromptBytes { get; } = Kind == CompletionKind.Text
        ? Encoding.UTF8.GetByteCount(Prompt!)
        : Messages!.Value.GetRawText() is var json ? Encoding.UTF8.GetByteCount(json) : 0;

    /// <summary>The field the prompt came in, for refusals.</summary>
    public string PromptField => Kind == CompletionKind.Text ? "prompt" : "messages";

    /// <summary>Which API the answer belongs to, part of the response cache's key.</summary>
    public string CacheRoute => Kind == CompletionKind.Text ? "completions" : "chat";
}

/// <summary>A whole answer: its text (the answer, without the thinking), how it ended, and its reasoning when it was split off.</summary>
internal sealed record CompletionResult(string Text, FinishReason FinishReason, GenerationUsage Usage, string? Reasoning = null)
{
    /// <summary>Every output token's log probability, when the request asked for them.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }

    /// <summary>The tool calls read from the answer (then <see cref="Text"/> is the content around them).</summary>
    public IReadOnlyList<Tools.ToolCall> ToolCalls { get; init; } = [];
}
