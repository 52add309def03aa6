namespace Edge.Agent.Http;

/// <summary>GET /healthz: the process is alive and serving HTTP.</summary>
internal static class HealthEndpoints
{
    public static void Map(WebApplication app) => app.MapGet("/healthz", new RequestDelegate(WriteHealthAsync));

    private static Task WriteHealthAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(new HealthResponse("ok"), AgentJsonContext.Readable.HealthResponse);
}
