using System.Text;
using System.Text.Json;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>POST /v1/completions in OpenAI's request and response shape, streamed as server-sent events on request.</summary>
internal static class CompletionsEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/v1/completions", HandleAsync);

    private static async Task HandleAsync(HttpContext context, InferenceEngine engine)
    {
        var cancellation = context.RequestAborted;
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellation);
        }
        catch (JsonException e)
        {
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                $"The request body is larger than the limit of {AgentDefaults.MaxRequestBodyBytes} bytes.");
            return;
        }

        using (document)
        {
            IEnumerable<GenerationChunk> chunks;
            CompletionRequest request;
            try
            {
                request = CompletionRequestReader.Read(document.RootElement);
                // Validates the request against the model before anything is sent back.
                chunks = engine.Stream(engine.Tokenizer.Encode(request.Prompt), request.Settings, cancellation);
            }
            catch (BadRequestException e)
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message, e.Param);
                return;
            }
            catch (GenerationRequestException e)
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message, e.Parameter);
                return;
            }

            var reply = new Reply($"cmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), engine.Package.Manifest.Name);
            try
            {
                if (request.Stream)
                    await StreamAsync(context, chunks, reply, request.IncludeUsage);
                else
                    await AnswerAsync(context, chunks, reply);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // The client went away; the engine has already freed the generation.
            }
        }
    }

    private static async Task AnswerAsync(HttpContext context, IEnumerable<GenerationChunk> chunks, Reply reply)
    {
        // Decoding is CPU-bound; keep it off the request's I/O path.
        var (text, last) = await Task.Run(() =>
        {
            var builder = new StringBuilder();
            GenerationChunk final = null!;
            foreach (var chunk in chunks)
            {
                builder.Append(chunk.Text);
                final = chunk;
            }
            return (builder.ToString(), final);
        }, context.RequestAborted);
        if (last.FinishReason == FinishReason.Cancelled)
            return;
        var usage = last.Usage!;
        await context.Response.WriteAsJsonAsync(
            reply.Response([new CompletionChoice(0, text, null, FinishReasonName(last.FinishReason!.Value))],
                new Usage(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens)),
            AgentJsonContext.Readable.CompletionResponse, cancellationToken: context.RequestAborted);
    }

    /// <summary>Server-sent events: one data: line per text delta, the finish reason, optionally usage, then [DONE].</summary>
    private static async Task StreamAsync(HttpContext context, IEnumerable<GenerationChunk> chunks, Reply reply, bool includeUsage)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        foreach (var chunk in chunks)
        {
            if (chunk.FinishReason == FinishReason.Cancelled)
                return;
            if (chunk.Text.Length > 0 || chunk.FinishReason is not null)
            {
                string? finish = chunk.FinishReason is { } reason ? FinishReasonName(reason) : null;
                await SendAsync(response, reply.Response([new CompletionChoice(0, chunk.Text, null, finish)], null));
            }
            if (chunk.Usage is { } usage && includeUsage)
                await SendAsync(response, reply.Response([], new Usage(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens)));
        }
        await response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        await response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task SendAsync(HttpResponse response, CompletionResponse chunk)
    {
        string json = JsonSerializer.Serialize(chunk, AgentJsonContext.Readable.CompletionResponse);
        await response.WriteAsync($"data: {json}\n\n", response.HttpContext.RequestAborted);
        await response.Body.FlushAsync(response.HttpContext.RequestAborted);
    }

    private static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "cancelled",
    };

    /// <summary>What every chunk of one reply shares.</summary>
    private sealed record Reply(string Id, long Created, string Model)
    {
        public CompletionResponse Response(IReadOnlyList<CompletionChoice> choices, Usage? usage) =>
            new(Id, "text_completion", Created, Model, choices, usage);
    }
}
