using System.Text.Json.Serialization;
using Edge.Agent.Ota;
using Edge.Agent.Security;
using Edge.Agent.Serving;

namespace Edge.Agent.Http;

/// <summary>
/// GET /v1/status (infer role): what the device page's status panel shows in one read: the model
/// in service, the provider, uptime, readiness with its reason, probation, and the latest update
/// outcomes (installed, refused, committed, rolled back, with reasons).
/// </summary>
internal static class StatusEndpoint
{
    private static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;

    public static void Map(WebApplication app) =>
        app.MapGet("/v1/status", new RequestDelegate(WriteAsync)).WithMetadata(new RoleMetadata(EndpointRole.Infer));

    private static Task WriteAsync(HttpContext context)
    {
        var model = context.RequestServices.GetRequiredService<ModelSlot>().Current;
        var status = EngineStatus.Of(model, DateTimeOffset.UtcNow);
        var manifest = model.Engine.Package.Manifest;
        var journal = context.RequestServices.GetService<ModelUpdater>()?.Journal;
        var history = (journal?.History ?? []).Reverse().Select(h => new OtaEvent(h.State, h.Version, h.PreviousVersion, h.Reason, h.At.ToUnixTimeSeconds())).ToList();
        var body = new DeviceStatus(manifest.Name, manifest.Version, manifest.Architecture.ModelType, manifest.Architecture.Parameters, manifest.Quantization,
            model.Engine.Provider, model.Engine.ContextLength, (long)(DateTimeOffset.UtcNow - Started).TotalSeconds,
            status.Healthy ? "ready" : "degraded", status.Reason, journal?.Probation is not null, history);
        return context.Response.WriteAsJsonAsync(body, StatusJsonContext.Default.DeviceStatus);
    }
}

/// <param name="OtaHistory">Newest first.</param>
internal sealed record DeviceStatus(string Model, string Version, string Architecture, long Parameters, string Quantization, string Provider,
    int ContextLength, long UptimeSeconds, string Status, string? Reason, bool OnProbation, IReadOnlyList<OtaEvent> OtaHistory);

internal sealed record OtaEvent(string State, string? Version, string? PreviousVersion, string? Reason, long At);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DeviceStatus))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
