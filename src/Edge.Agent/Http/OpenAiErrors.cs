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
}
