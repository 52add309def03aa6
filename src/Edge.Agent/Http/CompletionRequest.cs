using System.Text.Json;
using static Edge.Agent.Http.JsonFields;

namespace Edge.Agent.Http;

/// <summary>A validated /v1/completions request.</summary>
internal sealed record CompletionRequest(string Prompt, GenerationParameters Parameters)
{
    private static readonly HashSet<string> Known = [.. GenerationParameters.Names, "prompt", "echo"];

    /// <summary>Reads the request, refusing every wrong form with a message naming the parameter; unknown parameters are refused, not ignored.</summary>
    public static CompletionRequest Read(JsonElement root, string? envelopeField = null)
    {
        JsonRoute.RequireObject(root);
        RefuseUnknown(root, Known, envelopeField);
        string prompt = ReadPrompt(root);
        if (OptionalBool(root, "echo") == true)
            throw new BadRequestException("'echo': true is not supported; send false or leave it out.", "echo");
        return new CompletionRequest(prompt, GenerationParameters.Read(root));
    }

    private static string ReadPrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            throw new BadRequestException("'prompt' is required.", "prompt");
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            prompt = prompt[0];
        if (prompt.ValueKind != JsonValueKind.String)
            throw new BadRequestException($"'prompt' must be a string (or an array holding one string), not {Describe(prompt.ValueKind)}.", "prompt");
        string text = prompt.GetString()!;
        if (text.Length == 0)
            throw new BadRequestException("'prompt' is empty.", "prompt");
        return text;
    }
}
