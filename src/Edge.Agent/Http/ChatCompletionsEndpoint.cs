using Edge.Agent.Generation;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>POST /v1/chat/completions: the conversation through the model's chat template, OpenAI's shapes, SSE on request.</summary>
internal static class ChatCompletionsEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/v1/chat/completions", async (HttpContext context, Serving.ModelSlot slot) =>
    {
        using var lease = slot.Acquire();
        await JsonRoute.HandleAsync(context, body => RespondAsync(context, body, lease.Model.Engine, lease.Model.Generator));
    });

    private static async Task RespondAsync(HttpContext context, System.Text.Json.JsonElement body, InferenceEngine engine, TextGenerator generator)
    {
        var request = ChatCompletionRequest.Read(body);
        var started = generator.Start("chat", engine.EncodeChat(request.Messages), request.Parameters.Settings, context.RequestAborted);
        context.Response.Headers[CacheHeader.Name] = started.CacheStatus;
        var chunks = started.Chunks;
        string id = $"chatcmpl-{Guid.NewGuid():N}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = engine.Package.Manifest.Name;

        if (!request.Parameters.Stream)
        {
            var (text, last) = await GenerationReply.CollectAsync(chunks);
            if (last.FinishReason == FinishReason.Cancelled)
                return;
            var choice = new ChatChoice(0, new ChatMessage("assistant", text), null, GenerationReply.FinishReasonName(last.FinishReason!.Value));
            await context.Response.WriteAsJsonAsync(new ChatCompletionResponse(id, "chat.completion", created, model, [choice], GenerationReply.ToUsage(last.Usage!)),
                AgentJsonContext.Readable.ChatCompletionResponse, cancellationToken: context.RequestAborted);
            return;
        }

        var response = context.Response;
        var type = AgentJsonContext.Readable.ChatCompletionChunk;
        ChatCompletionChunk Chunk(IReadOnlyList<ChatChunkChoice> choices, Usage? usage = null) => new(id, "chat.completion.chunk", created, model, choices, usage);
        GenerationReply.BeginEvents(response);
        await GenerationReply.SendEventAsync(response, Chunk([new ChatChunkChoice(0, new ChatDelta("assistant", ""), null, null)]), type);
        await foreach (var chunk in chunks)
        {
            if (chunk.FinishReason == FinishReason.Cancelled)
                return;
            if (chunk.Text.Length > 0)
                await GenerationReply.SendEventAsync(response, Chunk([new ChatChunkChoice(0, new ChatDelta(null, chunk.Text), null, null)]), type);
            if (chunk.FinishReason is { } reason)
                await GenerationReply.SendEventAsync(response, Chunk([new ChatChunkChoice(0, new ChatDelta(null, null), null, GenerationReply.FinishReasonName(reason))]), type);
            if (chunk.Usage is { } usage && request.Parameters.IncludeUsage)
                await GenerationReply.SendEventAsync(response, Chunk([], GenerationReply.ToUsage(usage)), type);
        }
        await GenerationReply.SendDoneAsync(response);
    }
}
