namespace Edge.Runtime.Inference;

/// <summary>What one generation may do. Only greedy decoding exists so far.</summary>
public sealed record GenerationSettings
{
    public const int DefaultMaxTokens = 16;

    public int MaxTokens { get; init; } = DefaultMaxTokens;

    /// <summary>Stop at the model's end-of-sequence token (off for benchmarks and smoke tests).</summary>
    public bool StopAtEos { get; init; } = true;
}

public enum FinishReason
{
    /// <summary>The model produced an end-of-sequence token.</summary>
    Stop,
    /// <summary>max_tokens was reached.</summary>
    Length,
}

public sealed record GenerationResult(
    IReadOnlyList<int> PromptIds,
    IReadOnlyList<int> CompletionIds,
    string Text,
    FinishReason FinishReason);

/// <summary>A request the engine refuses before running it; the message names the problem.</summary>
public sealed class GenerationRequestException(string message) : Exception(message);
