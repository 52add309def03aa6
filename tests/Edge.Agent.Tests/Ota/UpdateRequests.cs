using System.Text.Json;

namespace Edge.Agent.Tests.Ota;

/// <summary>The requests the OTA tests make of a daemon: upload a bundle, ask the version in service.</summary>
internal static class UpdateRequests
{
    internal static async Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] bundle, bool force = false)
    {
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new("application/octet-stream");
        return await client.PostAsync(force ? "/v1/admin/update?force=true" : "/v1/admin/update", content);
    }

    internal static async Task<string> VersionAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/readyz")).RootElement.GetProperty("version").GetString()!;
}
