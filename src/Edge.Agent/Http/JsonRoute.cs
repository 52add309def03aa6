using System.Text.Json;

namespace Edge.Agent.Http;

/// <summary>
/// The frame of every JSON POST route: read the body (malformed JSON: 400, too large: 413), run
/// the handler, turn refusals thrown before the response starts into OpenAI-style errors, and
/// let a client that went away go quietly.
/// </summary>
internal static class JsonRoute
{
    public static async Task HandleAsync(HttpContext context, Func<JsonElement, Task> handle)
    {
        using var body = await ReadBodyAsync(context);
        if (body is null)
            return;
        try
        {
            await handle(body.RootElement);
        }
        catch (Exception e) when (OpenAiErrors.IsRefusal(e) && !context.Response.HasStarted)
        {
            await OpenAiErrors.WriteAsync(context, e);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the engine has already freed the generation.
        }
    }

    public static JsonElement RequireObject(JsonElement root) => root.ValueKind == JsonValueKind.Object
        ? root
        : throw new BadRequestException($"The request body must be a JSON object, not {JsonFields.Describe(root.ValueKind)}.");

    /// <summary>The parsed body, or null after answering the client with the error.</summary>
    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            // Buffered (the body is at most 1 MiB) so that invalid UTF-8 is refused here rather
            // than surfacing later, when a string is read, as a server error.
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            {
                await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid UTF-8.");
                return null;
            }
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
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
}
