using System.Text.Json;
using Edge.Agent.Core;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.OpenAi;

/// <summary>Reads a /v1/completions request (OpenAI's shape) into the core's request.</summary>
internal static class CompletionReader
{
    private static readonly HashSet<string> Known = [.. GenerationParameters.Names, "prompt", "echo", "logprobs", "best_of", "suffix"];

    /// <summary>Reads the request, refusing every wrong form with a message naming the parameter; unknown parameters are refused, not ignored.</summary>
    public static CompletionRequest Read(JsonElement root, string? envelopeField = null)
    {
        RequireObject(root);
        RefuseUnknown(root, Known, envelopeField);
        string prompt = ReadPrompt(root);
        if (OptionalString(root, "suffix") is { Length: > 0 })
            throw RefusalException.Invalid("'suffix' is not supported: the models served here are not trained to fill in the middle.", "suffix");
        bool echo = OptionalBool(root, "echo") ?? false;
        // The legacy logprobs: how many alternatives per token (0 still gives each token's own).
        int? logprobs = OptionalInt(root, "logprobs");
        if (echo && logprobs is not null)
            throw RefusalException.Invalid("'echo' with 'logprobs' would need the prompt's log probabilities, which this server does not compute; send one of them.", "echo");
        var parameters = GenerationParameters.Read(root);
        // best_of = n is what n already does; more would rank candidates this server does not score.
        if (OptionalInt(root, "best_of") is { } bestOf && bestOf != parameters.ChoiceCount)
            throw RefusalException.Invalid($"'best_of' must equal 'n' ({parameters.ChoiceCount}): choosing the best of more candidates is not supported.", "best_of");
        return CompletionRequest.Text(prompt, parameters.Settings with { TopLogprobs = logprobs }, parameters.Stream, parameters.IncludeUsage)
            with { Model = parameters.Model, SamplingGiven = parameters.SamplingGiven, Echo = echo, ChoiceCount = parameters.ChoiceCount };
    }

    private static string ReadPrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            throw RefusalException.Invalid("'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            prompt = prompt[0];
        if (prompt.ValueKind != JsonValueKind.String)
            throw RefusalException.Invalid($"'prompt' must be a string (or an array holding one string), not {Describe(prompt.ValueKind)}.", "prompt");
        string text = prompt.GetString()!;
        if (text.Length == 0)
            throw RefusalException.Invalid("'prompt' is empty.", "prompt");
        return text;
    }
}
