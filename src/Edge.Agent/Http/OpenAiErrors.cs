using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Http;

/// <summary>Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.</summary>
internal static class OpenAiErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message, string? param = null, string? code = null)
    {
        context.Response.StatusCode = status;
        string type = status >= 500 ? "server_error" : "invalid_request_error";
        return context.Response.WriteAsJsonAsync(new ErrorResponse(new ErrorBody(message, type, param, code)), AgentJsonContext.Readable.ErrorResponse);
    }

    /// <summary>Refusals before anything ran: the request's fault (400) or a full queue (503).</summary>
    public static bool IsRefusal(Exception e) => e is BadRequestException or GenerationRequestException or SchedulerOverloadedException;

    public static Task WriteAsync(HttpContext context, Exception e)
    {
        switch (e)
        {
            case BadRequestException bad:
                return WriteAsync(context, StatusCodes.Status400BadRequest, bad.Message, bad.Param);
            case GenerationRequestException refused:
                return WriteAsync(context, StatusCodes.Status400BadRequest, refused.Message, refused.Parameter);
            case SchedulerOverloadedException overloaded:
                context.Response.Headers.RetryAfter = "1";
                return WriteAsync(context, StatusCodes.Status503ServiceUnavailable, overloaded.Message);
            default:
                throw new ArgumentException("Not a refusal.", nameof(e));
        }
    }
}
