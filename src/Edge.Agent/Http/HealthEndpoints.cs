using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>GET /healthz (the process serves HTTP) and GET /readyz (a model is loaded and which).</summary>
internal static class HealthEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", new RequestDelegate(WriteHealthAsync));
        app.MapGet("/readyz", new RequestDelegate(WriteReadyAsync));
    }

    private static Task WriteHealthAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(new HealthResponse("ok"), AgentJsonContext.Readable.HealthResponse);

    // The engine is loaded before the listener opens, so a daemon that answers is ready (with the model now in service).
    private static Task WriteReadyAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var manifest = engine.Package.Manifest;
        return context.Response.WriteAsJsonAsync(
            new ReadyResponse("ready", manifest.Name, manifest.Version, engine.Provider, engine.ContextLength),
            AgentJsonContext.Readable.ReadyResponse);
    }
}
