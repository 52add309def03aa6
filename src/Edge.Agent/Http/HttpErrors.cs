using Edge.Agent.Core;
using Edge.Agent.OpenAi;

namespace Edge.Agent.Http;

/// <summary>
/// HTTP errors in OpenAI's shape, {"error": {"message", "type", "param", "code"}}, or in Ollama's,
/// {"error": "message"}, on the routes of Ollama's API (<see cref="OllamaShapeMetadata"/>, read from
/// the endpoint routing chose, so authorization and limits answer in the route's shape too); and the
/// status of each refusal.
/// </summary>
internal static class HttpErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message, string? param = null, string? code = null)
    {
        context.Response.StatusCode = status;
        if (context.GetEndpoint()?.Metadata.GetMetadata<OllamaShapeMetadata>() is not null)
            return context.Response.WriteAsJsonAsync(new Ollama.OllamaError(message), Ollama.OllamaJsonContext.Readable.OllamaError);
        return context.Response.WriteAsJsonAsync(OpenAiAnswers.Error(message, param, code, serverFault: status >= 500), AgentJsonContext.Readable.ErrorResponse);
    }

    public static Task WriteAsync(HttpContext context, RefusalException refusal)
    {
        if (refusal.Kind == RefusalKind.Overloaded)
            context.Response.Headers.RetryAfter = "1";
        return WriteAsync(context, StatusOf(refusal.Kind), refusal.Message, refusal.Parameter, refusal.Code);
    }

    public static int StatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Invalid => StatusCodes.Status400BadRequest,
        RefusalKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        RefusalKind.Busy => StatusCodes.Status409Conflict,
        RefusalKind.NotFound => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    /// <summary>
    /// Bodies for the statuses routing answers by itself (404 no such route, 405 wrong method), so
    /// that every error a client sees has OpenAI's shape.
    /// </summary>
    public static void UseStatusBodies(WebApplication app) => app.UseStatusCodePages(context =>
    {
        var http = context.HttpContext;
        string? message = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => $"No route {http.Request.Method} {http.Request.Path}.",
            StatusCodes.Status405MethodNotAllowed => $"{http.Request.Method} is not allowed on {http.Request.Path}.",
            _ => null,
        };
        return message is null ? Task.CompletedTask : WriteAsync(http, http.Response.StatusCode, message);
    });
}

/// <summary>Marks an endpoint of Ollama's API: its errors take Ollama's shape.</summary>
internal sealed record OllamaShapeMetadata;
