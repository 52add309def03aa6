using System.Text.Json;
using Edge.Agent.Core;

namespace Edge.Agent.OpenAi;

/// <summary>An OpenAI-shaped completion request, whichever transport carried it.</summary>
internal static class OpenAiRequests
{
    /// <param name="kind">The route's kind; null lets the body decide ("messages" makes a chat), as MQTT's one request topic does.</param>
    /// <param name="envelopeField">A field the transport adds (MQTT's "id"), accepted besides the known ones.</param>
    public static CompletionRequest Read(JsonElement root, CompletionKind? kind, string? envelopeField = null)
    {
        JsonFields.RequireObject(root);
        kind ??= root.TryGetProperty("messages", out _) ? CompletionKind.Chat : CompletionKind.Text;
        return kind == CompletionKind.Chat ? ChatCompletionReader.Read(root, envelopeField) : CompletionReader.Read(root, envelopeField);
    }
}
