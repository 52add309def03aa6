using System.Text.Json;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>POST /v1/completions in OpenAI's request and response shape.</summary>
internal static class CompletionsEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/v1/completions", HandleAsync);

    private static async Task HandleAsync(HttpContext context, InferenceEngine engine)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
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
            try
            {
                var request = CompletionRequestReader.Read(document.RootElement);
                // Decoding is CPU-bound; keep it off the request's I/O path.
                var result = await Task.Run(
                    () => engine.Complete(request.Prompt, new GenerationSettings { MaxTokens = request.MaxTokens }, context.RequestAborted),
                    context.RequestAborted);
                await context.Response.WriteAsJsonAsync(ToResponse(engine, result), AgentJsonContext.Readable.CompletionResponse, cancellationToken: context.RequestAborted);
            }
            catch (BadRequestException e)
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message, e.Param);
            }
            catch (GenerationRequestException e)
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nobody is left to answer.
            }
        }
    }

    private static CompletionResponse ToResponse(InferenceEngine engine, GenerationResult result) => new(
        Id: $"cmpl-{Guid.NewGuid():N}",
        Object: "text_completion",
        Created: DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        Model: engine.Package.Manifest.Name,
        Choices: [new CompletionChoice(0, result.Text, null, result.FinishReason == FinishReason.Stop ? "stop" : "length")],
        Usage: new Usage(result.PromptIds.Count, result.CompletionIds.Count, result.PromptIds.Count + result.CompletionIds.Count));

}
