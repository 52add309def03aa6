using Edge.Agent.OpenAi;
using Edge.Agent.Security;
using Edge.Agent.Serving;

namespace Edge.Agent.Http;

/// <summary>GET /healthz (the process serves HTTP) and GET /readyz (a model is loaded and its engine can serve: 503 with the reason when not).</summary>
internal static class HealthEndpoints
{
    public static void Map(WebApplication app)
    {
        var open = new RoleMetadata(EndpointRole.Open);
        app.MapGet("/healthz", new RequestDelegate(WriteHealthAsync)).WithMetadata(open);
        app.MapGet("/readyz", new RequestDelegate(WriteReadyAsync)).WithMetadata(open);
    }

    private static Task WriteHealthAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(new HealthResponse("ok"), AgentJsonContext.Readable.HealthResponse);

    // The engine is loaded before the listener opens, so a daemon that answers has a model; whether it can serve is the engine's status.
    private static Task WriteReadyAsync(HttpContext context)
    {
        var model = context.RequestServices.GetRequiredService<ModelSlot>().Current;
        var status = EngineStatus.Of(model, DateTimeOffset.UtcNow);
        var manifest = model.Engine.Package.Manifest;
        if (!status.Healthy)
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return context.Response.WriteAsJsonAsync(
            new ReadyResponse(status.Healthy ? "ready" : "degraded", manifest.Name, manifest.Version, model.Engine.Provider, model.Engine.ContextLength, status.Reason),
            AgentJsonContext.Readable.ReadyResponse);
    }
}
