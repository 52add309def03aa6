using System.Text.Json;
using Edge.Agent.OpenAi;

namespace Edge.Agent.Http;

/// <summary>Writes a response as server-sent events, flushing each one; a client that leaves cancels the writes.</summary>
internal sealed class ServerSentEvents(HttpResponse response)
{
    public void Begin()
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
    }

    public async Task SendAsync(string json)
    {
        await response.WriteAsync($"data: {json}\n\n", response.HttpContext.RequestAborted);
        await response.Body.FlushAsync(response.HttpContext.RequestAborted);
    }

    public Task SendErrorAsync(ErrorResponse error) => SendAsync(JsonSerializer.Serialize(error, AgentJsonContext.Readable.ErrorResponse));

    public Task SendDoneAsync() => SendAsync("[DONE]");
}
