namespace Edge.Runtime.Inference;

/// <summary>What one generation may do: length, sampling, penalties, stops.</summary>
public sealed record GenerationSettings
{
    public const int DefaultMaxTokens = 16;
    public const int MaxStopStrings = 16;

    public int MaxTokens { get; init; } = DefaultMaxTokens;

    /// <summary>0 is greedy decoding; above 0 the logits are divided by it before sampling.</summary>
    public float Temperature { get; init; }

    /// <summary>Sample only among the k most likely tokens; 0 means no limit.</summary>
    public int TopK { get; init; }

    /// <summary>Sample only among the most likely tokens whose probabilities add up to this (nucleus).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Drop tokens less likely than this fraction of the most likely one.</summary>
    public float MinP { get; init; }

    /// <summary>Hugging Face's repetition penalty over prompt and completion; 1 is none.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>OpenAI's presence penalty over the completion so far, -2..2.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI's frequency penalty over the completion so far, -2..2.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Same seed, same request, same model: same output. Without one, each request draws its own.</summary>
    public long? Seed { get; init; }

    /// <summary>Text that ends the generation; it is not part of the output and may span tokens.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Token ids that end the generation (not emitted), besides the model's end-of-sequence ids.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Stop at the model's end-of-sequence token (off for benchmarks and smoke tests).</summary>
    public bool StopAtEos { get; init; } = true;

    public ContextOverflow ContextOverflow { get; init; } = ContextOverflow.Refuse;

    /// <summary>Free text, or a JSON object enforced token by token (OpenAI's json_object).</summary>
    public ResponseFormat ResponseFormat { get; init; } = ResponseFormat.Text;

    /// <summary>When not empty, the output is exactly one of these (vLLM's guided_choice).</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>When set, the output matches this JSON schema or regex, enforced token by token.</summary>
    public Constraints.OutputGrammar? Grammar { get; init; }

    /// <summary>
    /// When set, each token comes with its log probability and this many most likely alternatives
    /// (0-20): log-softmax of the logits the sampler got (output constraint and penalties applied,
    /// divided by the temperature when sampling), before top-k, top-p and min-p cut them.
    /// </summary>
    public int? TopLogprobs { get; init; }

    public const int MaxTopLogprobs = 20;

    /// <summary>
    /// OpenAI's logit_bias: added to a token's logit before sampling (after the output constraint,
    /// which it cannot override, and the penalties); -100 all but bans a token, 100 all but forces it.
    /// </summary>
    public IReadOnlyDictionary<int, float> LogitBias { get; init; } = new Dictionary<int, float>();

    public const int MaxLogitBias = 300;

    public const int MaxChoices = 64;
    public const int MaxChoiceBytes = 256;

    public bool IsGreedy => Temperature == 0f;

    /// <summary>These settings with the model's defaults for the sampling parameters the request did not give.</summary>
    public GenerationSettings WithDefaults(Packaging.GenerationDefaults defaults, IReadOnlySet<string> given) => this with
    {
        Temperature = given.Contains("temperature") ? Temperature : defaults.Temperature,
        TopP = given.Contains("top_p") ? TopP : defaults.TopP,
        TopK = given.Contains("top_k") ? TopK : defaults.TopK,
        RepetitionPenalty = given.Contains("repetition_penalty") ? RepetitionPenalty : defaults.RepetitionPenalty,
    };

    /// <summary>Refuses settings outside their ranges with a message naming the parameter.</summary>
    public void Validate()
    {
        Require(MaxTokens >= 1, "max_tokens", $"max_tokens must be at least 1 (got {MaxTokens}).");
        Require(float.IsFinite(Temperature) && Temperature >= 0f, "temperature", $"temperature must be 0 or more (got {Temperature}).");
        Require(TopK >= 0, "top_k", $"top_k must be 0 (no limit) or more (got {TopK}).");
        Require(TopP > 0f && TopP <= 1f, "top_p", $"top_p must be in (0, 1] (got {TopP}).");
        Require(MinP >= 0f && MinP <= 1f, "min_p", $"min_p must be in [0, 1] (got {MinP}).");
        Require(float.IsFinite(RepetitionPenalty) && RepetitionPenalty > 0f, "repetition_penalty", $"repetition_penalty must be above 0 (got {RepetitionPenalty}).");
        Require(PresencePenalty is >= -2f and <= 2f, "presence_penalty", $"presence_penalty must be in [-2, 2] (got {PresencePenalty}).");
        Require(FrequencyPenalty is >= -2f and <= 2f, "frequency_penalty", $"frequency_penalty must be in [-2, 2] (got {FrequencyPenalty}).");
        Require(StopStrings.Count <= MaxStopStrings, "stop", $"stop may hold at most {MaxStopStrings} strings (got {StopStrings.Count}).");
        Require(StopStrings.All(s => !string.IsNullOrEmpty(s)), "stop", "stop strings must not be empty.");
        Require(TopLogprobs is null or (>= 0 and <= MaxTopLogprobs), "top_logprobs", $"top_logprobs must be from 0 to {MaxTopLogprobs} (got {TopLogprobs}).");
        Require(LogitBias.Count <= MaxLogitBias, "logit_bias", $"logit_bias may hold at most {MaxLogitBias} tokens (got {LogitBias.Count}).");
        Require(LogitBias.Values.All(b => b is >= -100f and <= 100f), "logit_bias", "logit_bias values must be from -100 to 100.");
        Require(Choices.Count <= MaxChoices, "guided_choice", $"guided_choice may hold at most {MaxChoices} strings (got {Choices.Count}).");
        Require(Choices.All(c => !string.IsNullOrEmpty(c) && System.Text.Encoding.UTF8.GetByteCount(c) <= MaxChoiceBytes), "guided_choice",
            $"each guided_choice string must hold 1 to {MaxChoiceBytes} UTF-8 bytes.");
        Require(Choices.Count == 0 || ResponseFormat == ResponseFormat.Text, "guided_choice", "guided_choice and a JSON response_format cannot be combined.");
        Require(Grammar is null || (Choices.Count == 0 && ResponseFormat == ResponseFormat.Text), Grammar?.Kind == Constraints.GrammarKind.Regex ? "guided_regex" : "response_format",
            "Only one output constraint may be given: response_format, guided_choice, guided_regex or guided_json.");
    }

    private static void Require(bool condition, string parameter, string message)
    {
        if (!condition)
            throw new GenerationRequestException(message, parameter);
    }
}

/// <summary>What the output must be.</summary>
public enum ResponseFormat
{
    Text,
    /// <summary>One JSON object: tokens that would break it are never sampled, and generation stops when it closes.</summary>
    JsonObject,
}

/// <summary>What to do when prompt + max_tokens exceed the model's context.</summary>
public enum ContextOverflow
{
    /// <summary>Refuse the request.</summary>
    Refuse,
    /// <summary>Drop the oldest prompt tokens so that prompt + max_tokens fit.</summary>
    TruncatePrompt,
    /// <summary>Lower max_tokens to what fits after the prompt.</summary>
    TruncateCompletion,
}

public enum FinishReason
{
    /// <summary>An end-of-sequence token, a stop token or a stop string.</summary>
    Stop,
    /// <summary>max_tokens was reached.</summary>
    Length,
    /// <summary>The caller cancelled; the generation's state was freed at once.</summary>
    Cancelled,
}

/// <summary>A piece of a streamed generation. The last one carries the finish reason and usage.</summary>
public sealed record GenerationChunk(string Text, FinishReason? FinishReason = null, GenerationUsage? Usage = null)
{
    /// <summary>The tokens this chunk completes, with their log probabilities, when the request asked for them.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }
}

/// <summary>A generated token's log probability and the most likely tokens at its position (<see cref="GenerationSettings.TopLogprobs"/>).</summary>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<TopLogprob> Top);

public readonly record struct TopLogprob(int TokenId, float Logprob);

public sealed record GenerationUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

public sealed record GenerationResult(
    IReadOnlyList<int> PromptIds,
    IReadOnlyList<int> CompletionIds,
    string Text,
    FinishReason FinishReason);

/// <summary>A request the engine refuses before running it; the message names the problem.</summary>
public sealed class GenerationRequestException(string message, string? parameter = null) : Exception(message)
{
    /// <summary>The request parameter at fault, in the API's spelling, when one is.</summary>
    public string? Parameter { get; } = parameter;
}

/// <summary>Where in a generation a fault hit the engine.</summary>
public enum GenerationStage
{
    Prefill,
    Step,
    Sampling,
}

/// <summary>
/// The engine failed while running this generation (not the request's fault). Only the
/// sequences the fault touched get it; the engine goes on with the others.
/// </summary>
public sealed class GenerationFaultException(GenerationStage stage, Exception inner)
    : Exception($"The engine failed during {stage.ToString().ToLowerInvariant()}: {inner.Message}", inner)
{
    public GenerationStage Stage { get; } = stage;
}
