using Edge.Agent.Generation;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>POST /v1/completions in OpenAI's request and response shape, streamed as server-sent events on request.</summary>
internal static class CompletionsEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/v1/completions", async (HttpContext context, Serving.ModelSlot slot) =>
    {
        // The whole response comes from the model this request started on, even across an update.
        using var lease = slot.Acquire();
        await JsonRoute.HandleAsync(context, body => RespondAsync(context, body, lease.Model.Engine, lease.Model.Generator));
    });

    private static async Task RespondAsync(HttpContext context, System.Text.Json.JsonElement body, InferenceEngine engine, TextGenerator generator)
    {
        var request = CompletionRequest.Read(body);
        // Validated against the model (and queued) before anything is sent back.
        var started = generator.Start("completions", engine.Tokenizer.Encode(request.Prompt), request.Parameters.Settings, context.RequestAborted);
        context.Response.Headers[CacheHeader.Name] = started.CacheStatus;
        var chunks = started.Chunks;
        var reply = new Reply($"cmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), engine.Package.Manifest.Name);
        if (request.Parameters.Stream)
            await StreamAsync(context.Response, chunks, reply, request.Parameters.IncludeUsage);
        else
            await AnswerAsync(context, chunks, reply);
    }

    private static async Task AnswerAsync(HttpContext context, IAsyncEnumerable<GenerationChunk> chunks, Reply reply)
    {
        var (text, last) = await GenerationReply.CollectAsync(chunks);
        if (last.FinishReason == FinishReason.Cancelled)
            return;
        var choice = new CompletionChoice(0, text, null, GenerationReply.FinishReasonName(last.FinishReason!.Value));
        await context.Response.WriteAsJsonAsync(reply.Response([choice], GenerationReply.ToUsage(last.Usage!)),
            AgentJsonContext.Readable.CompletionResponse, cancellationToken: context.RequestAborted);
    }

    /// <summary>One event per text delta, the finish reason, optionally the usage, then [DONE].</summary>
    private static async Task StreamAsync(HttpResponse response, IAsyncEnumerable<GenerationChunk> chunks, Reply reply, bool includeUsage)
    {
        GenerationReply.BeginEvents(response);
        await foreach (var chunk in chunks)
        {
            if (chunk.FinishReason == FinishReason.Cancelled)
                return;
            if (chunk.Text.Length > 0 || chunk.FinishReason is not null)
            {
                string? finish = chunk.FinishReason is { } reason ? GenerationReply.FinishReasonName(reason) : null;
                await GenerationReply.SendEventAsync(response, reply.Response([new CompletionChoice(0, chunk.Text, null, finish)], null), AgentJsonContext.Readable.CompletionResponse);
            }
            if (chunk.Usage is { } usage && includeUsage)
                await GenerationReply.SendEventAsync(response, reply.Response([], GenerationReply.ToUsage(usage)), AgentJsonContext.Readable.CompletionResponse);
        }
        await GenerationReply.SendDoneAsync(response);
    }

    /// <summary>What every chunk of one reply shares.</summary>
    private sealed record Reply(string Id, long Created, string Model)
    {
        public CompletionResponse Response(IReadOnlyList<CompletionChoice> choices, Usage? usage) =>
            new(Id, "text_completion", Created, Model, choices, usage);
    }
}
