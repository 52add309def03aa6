using System.Text.Json;
using Edge.Agent.Core;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.OpenAi;

/// <summary>Reads a /v1/completions request (OpenAI's shape) into the core's request.</summary>
internal static class CompletionReader
{
    private static readonly HashSet<string> Known = [.. GenerationParameters.Names, "prompt", "echo"];

    /// <summary>Reads the request, refusing every wrong form with a message naming the parameter; unknown parameters are refused, not ignored.</summary>
    public static CompletionRequest Read(JsonElement root, string? envelopeField = null)
    {
        RequireObject(root);
        RefuseUnknown(root, Known, envelopeField);
        string prompt = ReadPrompt(root);
        if (OptionalBool(root, "echo") == true)
            throw RefusalException.Invalid("'echo': true is not supported; send false or leave it out.", "echo");
        var parameters = GenerationParameters.Read(root);
        return CompletionRequest.Text(prompt, parameters.Settings, parameters.Stream, parameters.IncludeUsage) with { Model = parameters.Model, SamplingGiven = parameters.SamplingGiven };
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
