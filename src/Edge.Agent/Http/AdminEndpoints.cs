using Edge.Agent.Ota;
using Edge.Agent.Security;
using Microsoft.AspNetCore.Http.Features;

namespace Edge.Agent.Http;

/// <summary>
/// The admin routes (role admin): POST /v1/admin/update with a signed bundle as the body
/// (<c>?force=true</c> allows a version not above the current one), GET /v1/admin/update for the
/// last attempt's outcome. Every attempt goes to the audit log with its outcome.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(WebApplication app, AuditLog audit)
    {
        app.MapPost("/v1/admin/update", (HttpContext context, ModelUpdater updater) => UpdateAsync(context, updater, audit));
        app.MapGet("/v1/admin/update", (HttpContext context, ModelUpdater updater) =>
            context.Response.WriteAsJsonAsync(ToResponse(updater.Last), AgentJsonContext.Readable.UpdateResponse));
    }

    private static async Task UpdateAsync(HttpContext context, ModelUpdater updater, AuditLog audit)
    {
        string who = context.Items[RequestLimits.CallerItem] as string ?? "unknown";
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = updater.Settings.MaxBundleBytes;
        bool force = context.Request.Query["force"] is { Count: > 0 } value && bool.TryParse(value, out bool parsed) && parsed;
        string downloads = Path.Combine(Path.GetDirectoryName(updater.Store.Root)!, "downloads");
        Directory.CreateDirectory(downloads);
        string upload = Path.Combine(downloads, $"upload-{Guid.NewGuid():N}{Runtime.Bundles.ModelBundle.Extension}");
        try
        {
            await using (var file = File.Create(upload))
                await context.Request.Body.CopyToAsync(file, context.RequestAborted);
            if (new FileInfo(upload).Length == 0)
                throw new UpdateRefusedException(StatusCodes.Status400BadRequest, "The request body is empty: send the bundle (.edgepkg) as the body.");
            var status = await updater.InstallAsync(upload, force);
            audit.Write(who, "model update", "installed", $"{status.PreviousVersion} -> {status.Version}");
            await context.Response.WriteAsJsonAsync(ToResponse(status), AgentJsonContext.Readable.UpdateResponse);
        }
        catch (UpdateRefusedException e)
        {
            audit.Write(who, "model update", "refused", e.Message);
            await OpenAiErrors.WriteAsync(context, e.Status, $"Update refused: {e.Message} The current model keeps serving.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            audit.Write(who, "model update", "refused", "bundle too large");
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"The bundle is larger than Ota:MaxBundleMegabytes ({updater.Settings.MaxBundleBytes} bytes).");
        }
        finally
        {
            File.Delete(upload);
        }
    }

    private static UpdateResponse ToResponse(UpdateStatus status) =>
        new(status.State, status.Version, status.PreviousVersion, status.Reason, status.At.ToUnixTimeSeconds());
}
