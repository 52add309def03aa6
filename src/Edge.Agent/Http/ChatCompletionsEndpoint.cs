using Edge.Agent.Generation;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>POST /v1/chat/completions: the conversation through the model's chat template, OpenAI's shapes, SSE on request.</summary>
internal static class ChatCompletionsEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/v1/chat/completions", HandleAsync);

    private static async Task HandleAsync(HttpContext context, InferenceEngine engine, TextGenerator generator)
    {
        using var body = await GenerationReply.ReadBodyAsync(context);
        if (body is null)
            return;
        ChatCompletionRequest request;
        IAsyncEnumerable<GenerationChunk> chunks;
        try
        {
            request = ChatCompletionRequest.Read(body.RootElement);
            chunks = generator.Start(engine.EncodeChat(request.Messages), request.Parameters.Settings, context.RequestAborted);
        }
        catch (Exception e) when (OpenAiErrors.IsRefusal(e))
        {
            await OpenAiErrors.WriteAsync(context, e);
            return;
        }

        string id = $"chatcmpl-{Guid.NewGuid():N}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = engine.Package.Manifest.Name;
        try
        {
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
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the engine has already freed the generation.
        }
    }
}
