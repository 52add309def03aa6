using System.Reflection;
using Edge.Agent.Security;

namespace Edge.Agent.Http;

/// <summary>
/// The device page at / for operators: three static files compiled into the binary (Ui/), so a
/// device needs no build step and no files beside the daemon. The page makes no request beyond the
/// daemon itself (a Content-Security-Policy of 'self' says so to the browser); everything it shows
/// comes from the daemon's own API with the caller's key, so it needs no role of its own.
/// </summary>
internal static class DevicePage
{
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "ui/index.html", "text/html; charset=utf-8"),
        ("/ui/app.js", "ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "ui/app.css", "text/css; charset=utf-8"),
    ];

    public static void Map(WebApplication app)
    {
        var open = new RoleMetadata(EndpointRole.Open);
        foreach (var (path, resource, contentType) in Files)
        {
            byte[] body = Read(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.ContentType = contentType;
                context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.CacheControl = "no-cache";
                return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
            }).WithMetadata(open);
        }
    }

    private static byte[] Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The device page resource {resource} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
