using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>What the completion routes share: collecting a generation, writing server-sent events.</summary>
internal static class GenerationReply
{
    /// <summary>Waits for a whole generation; returns its text and last chunk.</summary>
    public static async Task<(string Text, GenerationChunk Last)> CollectAsync(IAsyncEnumerable<GenerationChunk> chunks)
    {
        var text = new StringBuilder();
        GenerationChunk last = null!;
        await foreach (var chunk in chunks)
        {
            text.Append(chunk.Text);
            last = chunk;
        }
        return (text.ToString(), last);
    }

    public static void BeginEvents(HttpResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
    }

    public static async Task SendEventAsync<T>(HttpResponse response, T payload, JsonTypeInfo<T> type)
    {
        string json = JsonSerializer.Serialize(payload, type);
        await response.WriteAsync($"data: {json}\n\n", response.HttpContext.RequestAborted);
        await response.Body.FlushAsync(response.HttpContext.RequestAborted);
    }

    public static async Task SendDoneAsync(HttpResponse response)
    {
        await response.WriteAsync("data: [DONE]\n\n", response.HttpContext.RequestAborted);
        await response.Body.FlushAsync(response.HttpContext.RequestAborted);
    }

    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "cancelled",
    };

    public static Usage ToUsage(GenerationUsage usage) => new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);
}
