using System.Text.Json;
using Edge.Agent.Core;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>
/// The frame of every JSON POST route: check the content type (415), read the body (malformed
/// JSON or text: 400, too large: 413), run the handler, turn refusals thrown before the response
/// starts into OpenAI-style errors, and let a client that went away go quietly.
/// </summary>
internal static class JsonRoute
{
    public static async Task HandleAsync(HttpContext context, Func<JsonElement, Task> handle)
    {
        if (!IsJson(context.Request.ContentType))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType,
                $"The request body must be JSON (Content-Type: application/json), not '{context.Request.ContentType}'.");
            return;
        }
        using var body = await ReadBodyAsync(context);
        if (body is null)
            return;
        try
        {
            JsonFields.RequireWellFormedStrings(body.RootElement);
            await handle(body.RootElement);
        }
        catch (RefusalException e) when (!context.Response.HasStarted)
        {
            await HttpErrors.WriteAsync(context, e);
        }
        catch (GenerationFaultException e) when (!context.Response.HasStarted)
        {
            // The engine's fault, not the request's: a 500 with the reason, and the engine serves on.
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, $"The request failed inside the server: {e.Message}");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the engine has already freed the generation.
        }
    }

    /// <summary>application/json or any +json type; no content type at all is taken as JSON.</summary>
    public static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
            return true;
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media))
            return false;
        var type = media.MediaType.Value ?? "";
        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

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
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid UTF-8.");
                return null;
            }
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (JsonException e)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                $"The request body is larger than the limit of {AgentDefaults.MaxRequestBodyBytes} bytes.");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        return null;
    }
}
