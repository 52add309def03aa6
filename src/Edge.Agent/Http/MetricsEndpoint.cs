using Edge.Agent.Metrics;
using Edge.Agent.Security;

namespace Edge.Agent.Http;

/// <summary>GET /metrics in the Prometheus text format, and the middleware counting every request by route and status.</summary>
internal static class MetricsEndpoint
{
    public static void Map(WebApplication app, AgentMetrics metrics)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            finally
            {
                // Route templates, not raw paths, so scanners cannot blow up the label space.
                string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                metrics.CountRequest(route, context.Response.StatusCode);
            }
        });
        app.MapGet("/metrics", new RequestDelegate(context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(metrics.Exporter.Scrape());
        })).WithMetadata(new RoleMetadata(EndpointRole.Open));
    }
}
