using System.Net.Http.Headers;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Ota;

/// <summary>
/// Polls Ota:PollUrl: reads the head of the bundle there (an HTTP Range request for its first
/// 64 KiB, where the manifest sits), and downloads and installs it only when its version is newer
/// than the one in service and was not rolled back before. The head is not trusted: the install
/// verifies the whole bundle as any other update does. The first poll comes shortly after start.
/// </summary>
internal sealed partial class UpdatePoller(ModelUpdater updater, Serving.ModelSlot slot, PollSettings poll, ILogger<UpdatePoller> logger) : BackgroundService
{
    private const int HeadBytes = 64 * 1024;
    private const string Who = "poll";

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var http = updater.Settings.Downloads.CreateClient(TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, poll.Interval.TotalSeconds)), stopping);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(http, stopping);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or BundleException or UpdateRefusedException or TaskCanceledException && !stopping.IsCancellationRequested)
            {
                PollFailed(logger, poll.Url, e.Message);
            }
            // Jitter, so that a fleet polling one server does not arrive in step.
            await Task.Delay(poll.Interval * (0.9 + Random.Shared.NextDouble() * 0.2), stopping);
        }
    }

    private async Task PollOnceAsync(HttpClient http, CancellationToken stopping)
    {
        using var response = await updater.Settings.Downloads.GetAsync(http, poll.Url, url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Range = new RangeHeaderValue(0, HeadBytes - 1);
            return request;
        }, stopping);
        if (!response.IsSuccessStatusCode)
        {
            PollFailed(logger, poll.Url, $"{(int)response.StatusCode} {response.ReasonPhrase}");
            return;
        }
        await using var head = await response.Content.ReadAsStreamAsync(stopping);
        var offered = ModelBundle.PeekManifest(new BufferedStream(head, HeadBytes)).Version;
        string serving = slot.Current.Version;
        if (ModelStore.CompareVersions(offered, serving) <= 0 || updater.Journal.IsRejected(offered))
        {
            UpToDate(logger, poll.Url, offered, serving);
            return;
        }
        string bundle = await updater.DownloadAsync(poll.Url, Who, stopping);
        try
        {
            await updater.InstallAsync(bundle, force: false, Who);
        }
        finally
        {
            File.Delete(bundle);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Polled {Url}: it offers {Offered}; serving {Serving}, nothing to do.")]
    private static partial void UpToDate(ILogger logger, Uri url, string offered, string serving);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling {Url} for an update failed: {Reason}")]
    private static partial void PollFailed(ILogger logger, Uri url, string reason);
}
