using Edge.Agent.Core;
using Edge.Agent.OpenAi;
using Edge.Agent.Ota;
using Edge.Agent.Security;
using Microsoft.AspNetCore.Http.Features;

namespace Edge.Agent.Http;

/// <summary>
/// The admin routes (role admin): POST /v1/admin/update with a signed bundle as the body
/// (application/octet-stream), or JSON <c>{"url": ...}</c> (at most 64 KiB) for the daemon to
/// download it (<c>?force=true</c> allows a version not above the current one), GET
/// /v1/admin/update for the last attempt's outcome. Every attempt goes to the audit log with its outcome.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(WebApplication app)
    {
        var admin = new RoleMetadata(EndpointRole.Admin);
        app.MapPost("/v1/admin/update", (HttpContext context, ModelUpdater updater) => UpdateAsync(context, updater)).WithMetadata(admin);
        app.MapGet("/v1/admin/update", (HttpContext context, ModelUpdater updater) =>
            context.Response.WriteAsJsonAsync(ToResponse(updater.Last), AgentJsonContext.Readable.UpdateResponse)).WithMetadata(admin);
        app.MapPost("/v1/admin/rollback", (HttpContext context, ModelUpdater updater) => RollBackAsync(context, updater)).WithMetadata(admin);
    }

    /// <summary>POST /v1/admin/rollback: back to the previous installed version (no body).</summary>
    private static async Task RollBackAsync(HttpContext context, ModelUpdater updater)
    {
        string who = context.Items[AuthorizationMiddleware.CallerItem] as string ?? "unknown";
        try
        {
            var status = await updater.RollBackToPreviousAsync(who);
            await context.Response.WriteAsJsonAsync(ToResponse(status), AgentJsonContext.Readable.UpdateResponse);
        }
        catch (UpdateRefusedException e)
        {
            await HttpErrors.WriteAsync(context, e.Status, $"Rollback refused: {e.Message} The current model keeps serving.");
        }
    }

    private static async Task UpdateAsync(HttpContext context, ModelUpdater updater)
    {
        string who = context.Items[AuthorizationMiddleware.CallerItem] as string ?? "unknown";
        string? contentType = context.Request.ContentType;
        bool json = contentType is { Length: > 0 } && JsonRoute.IsJson(contentType);
        bool binary = contentType is null or "" || contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase);
        if (!json && !binary)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType,
                $"Send the bundle as application/octet-stream, or JSON {{\"url\": ...}} as application/json, not '{contentType}'.");
            return;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = json ? UpdateCommand.MaxBytes : updater.Settings.MaxBundleBytes;
        bool force = context.Request.Query["force"] is { Count: > 0 } value && bool.TryParse(value, out bool parsed) && parsed;
        string? bundle = null;
        try
        {
            if (json)
            {
                var command = UpdateCommand.Read(await ReadSmallBodyAsync(context));
                bundle = await updater.DownloadAsync(command.Url, who, context.RequestAborted);
                force |= command.Force;
            }
            else
            {
                bundle = await ReceiveAsync(context, updater.DownloadsDirectory);
            }
            var status = await updater.InstallAsync(bundle, force, who);
            await context.Response.WriteAsJsonAsync(ToResponse(status), AgentJsonContext.Readable.UpdateResponse);
        }
        catch (UpdateRefusedException e)
        {
            await HttpErrors.WriteAsync(context, e.Status, $"Update refused: {e.Message} The current model keeps serving.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            string what = json ? $"The update command is larger than {UpdateCommand.MaxBytes} bytes." : $"The bundle is larger than Ota:MaxBundleMegabytes ({updater.Settings.MaxBundleBytes} bytes).";
            updater.RecordRefusal(who, what);
            await HttpErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, what);
        }
        catch (RefusalException e)
        {
            updater.RecordRefusal(who, e.Message);
            await HttpErrors.WriteAsync(context, e);
        }
        catch (BadHttpRequestException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The client's body broke off or was malformed: its fault, not the disk's.
            updater.RecordRefusal(who, "The request body could not be read.");
            await HttpErrors.WriteAsync(context, e.StatusCode, "The request body could not be read (it ended early or was malformed).");
        }
        catch (IOException e) when (Runtime.Storage.DurableFileSystem.IsDiskFull(e))
        {
            // A full disk while the bundle is written or extracted: the model in service is untouched.
            updater.RecordRefusal(who, "The device's disk is full: the bundle could not be stored.");
            await HttpErrors.WriteAsync(context, StatusCodes.Status507InsufficientStorage, "Update refused: the device's disk is full. The current model keeps serving.");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            // A download that failed half way stays for the next attempt; a used or refused bundle goes.
            if (bundle is not null)
                File.Delete(bundle);
        }
    }

    private static async Task<byte[]> ReadSmallBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    /// <summary>The bundle as the request body (application/octet-stream).</summary>
    private static async Task<string> ReceiveAsync(HttpContext context, string downloads)
    {
        Directory.CreateDirectory(downloads);
        string upload = Path.Combine(downloads, $"upload-{Guid.NewGuid():N}{Runtime.Bundles.ModelBundle.Extension}");
        try
        {
            await using (var file = File.Create(upload))
                await context.Request.Body.CopyToAsync(file, context.RequestAborted);
            if (new FileInfo(upload).Length == 0)
                throw new UpdateRefusedException(StatusCodes.Status400BadRequest, "The request body is empty: send the bundle (.edgepkg) as the body, or JSON {\"url\": ...}.");
            return upload;
        }
        catch
        {
            File.Delete(upload);
            throw;
        }
    }

    private static UpdateResponse ToResponse(UpdateStatus status) =>
        new(status.State, status.Version, status.PreviousVersion, status.Reason, status.At.ToUnixTimeSeconds());
}
