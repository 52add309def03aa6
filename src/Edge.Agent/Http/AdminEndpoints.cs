using Edge.Agent.Ota;
using Edge.Agent.Security;
using Microsoft.AspNetCore.Http.Features;

namespace Edge.Agent.Http;

/// <summary>
/// The admin routes (role admin): POST /v1/admin/update with a signed bundle as the body, or
/// JSON <c>{"url": ...}</c> for the daemon to download it (<c>?force=true</c> allows a version not
/// above the current one), GET /v1/admin/update for the last attempt's outcome. Every attempt goes to the audit log with its outcome.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/v1/admin/update", (HttpContext context, ModelUpdater updater) => UpdateAsync(context, updater));
        app.MapGet("/v1/admin/update", (HttpContext context, ModelUpdater updater) =>
            context.Response.WriteAsJsonAsync(ToResponse(updater.Last), AgentJsonContext.Readable.UpdateResponse));
    }

    private static async Task UpdateAsync(HttpContext context, ModelUpdater updater)
    {
        string who = context.Items[RequestLimits.CallerItem] as string ?? "unknown";
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = updater.Settings.MaxBundleBytes;
        bool force = context.Request.Query["force"] is { Count: > 0 } value && bool.TryParse(value, out bool parsed) && parsed;
        string downloads = updater.DownloadsDirectory;
        Directory.CreateDirectory(downloads);
        string? bundle = null;
        try
        {
            bundle = context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true
                ? await DownloadAsync(context, updater, who)
                : await ReceiveAsync(context, downloads);
            var status = await updater.InstallAsync(bundle, force, who);
            await context.Response.WriteAsJsonAsync(ToResponse(status), AgentJsonContext.Readable.UpdateResponse);
        }
        catch (UpdateRefusedException e)
        {
            await OpenAiErrors.WriteAsync(context, e.Status, $"Update refused: {e.Message} The current model keeps serving.");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            updater.RecordRefusal(who, "The bundle is larger than Ota:MaxBundleMegabytes.");
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"The bundle is larger than Ota:MaxBundleMegabytes ({updater.Settings.MaxBundleBytes} bytes).");
        }
        catch (System.Text.Json.JsonException e)
        {
            updater.RecordRefusal(who, "The request body is not valid JSON.");
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {e.Message}");
        }
        catch (BadRequestException e)
        {
            updater.RecordRefusal(who, e.Message);
            await OpenAiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message, e.Param);
        }
        finally
        {
            // A download that failed half way stays for the next attempt; a used or refused bundle goes.
            if (bundle is not null)
                File.Delete(bundle);
        }
    }

    /// <summary>The bundle as the request body (application/octet-stream).</summary>
    private static async Task<string> ReceiveAsync(HttpContext context, string downloads)
    {
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

    /// <summary>JSON {"url": "https://..."}: the daemon fetches the bundle itself, resuming if the connection drops.</summary>
    private static async Task<string> DownloadAsync(HttpContext context, ModelUpdater updater, string who)
    {
        using var document = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var url = ReadUrl(JsonRoute.RequireObject(document.RootElement), new HashSet<string> { "url" });
        return await updater.DownloadAsync(url, who, context.RequestAborted);
    }

    /// <summary>The "url" field of an update request (HTTP or MQTT), refusing other fields.</summary>
    public static Uri ReadUrl(System.Text.Json.JsonElement root, IReadOnlySet<string> known)
    {
        JsonFields.RefuseUnknown(root, known);
        string text = JsonFields.OptionalString(root, "url") ?? throw new BadRequestException("'url' is required.", "url");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new BadRequestException($"'url' must be an absolute http or https URL, not '{text}'.", "url");
        return url;
    }

    private static UpdateResponse ToResponse(UpdateStatus status) =>
        new(status.State, status.Version, status.PreviousVersion, status.Reason, status.At.ToUnixTimeSeconds());
}
