using Edge.Agent.Configuration;

namespace Edge.Agent.Core;

/// <summary>
/// Limits beyond the model's own, checked before any work: max_tokens (Limits:MaxTokens) and
/// prompt tokens (Limits:MaxPromptTokens), 0 for "the model's context decides", and the
/// prompt's size in UTF-8 bytes before it is tokenized (Limits:MaxPromptBytes, 1 MiB), so that
/// no request buys more tokenizer or template work than that.
/// </summary>
internal sealed record AdmissionLimits(int MaxTokens, int MaxPromptTokens, long MaxPromptBytes)
{
    public const int DefaultMaxPromptBytes = 1 << 20;

    public static AdmissionLimits Read(IConfiguration configuration) => new(
        ConfigurationValues.ReadInt(configuration, "Limits:MaxTokens", 0, minimum: 0),
        ConfigurationValues.ReadInt(configuration, "Limits:MaxPromptTokens", 0, minimum: 0),
        ConfigurationValues.ReadInt(configuration, "Limits:MaxPromptBytes", DefaultMaxPromptBytes, minimum: 1));
}
