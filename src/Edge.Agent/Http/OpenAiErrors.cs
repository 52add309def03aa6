using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.</summary>
internal static class OpenAiErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message, string? param = null)
    {
        context.Response.StatusCode = status;
        string type = status >= 500 ? "server_error" : "invalid_request_error";
        return context.Response.WriteAsJsonAsync(new ErrorResponse(new ErrorBody(message, type, param, null)), AgentJsonContext.Readable.ErrorResponse);
    }

    /// <summary>Errors that are the request's fault: a 400 naming the parameter.</summary>
    public static bool IsClientError(Exception e) => e is BadRequestException or GenerationRequestException;

    public static Task WriteAsync(HttpContext context, Exception e) => e switch
    {
        BadRequestException bad => WriteAsync(context, StatusCodes.Status400BadRequest, bad.Message, bad.Param),
        GenerationRequestException refused => WriteAsync(context, StatusCodes.Status400BadRequest, refused.Message, refused.Parameter),
        _ => throw new ArgumentException("Not a client error.", nameof(e)),
    };
}
