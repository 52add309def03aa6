using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>What the completion routes share: reading the body, running a generation, writing server-sent events.</summary>
internal static class GenerationReply
{
    /// <summary>The parsed body, or null after answering the client with the error.</summary>
    public static async Task<JsonDocument?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException e)
        {
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                $"The request body is larger than the limit of {AgentDefaults.MaxRequestBodyBytes} bytes.");
        }
        return null;
    }

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
