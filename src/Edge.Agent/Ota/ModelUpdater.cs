using Edge.Agent.Serving;
using Edge.Runtime;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Ota;

/// <summary>An update that did not happen, and why; the model in service is unchanged.</summary>
internal sealed class UpdateRefusedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>The outcome of the last update attempt, for the status route.</summary>
internal sealed record UpdateStatus(string State, string? Version, string? PreviousVersion, string? Reason, DateTimeOffset At);

/// <summary>
/// Installs a bundle while the daemon serves: verify and extract into the store, load it into a
/// second engine, pass its smoke test, swap it in (requests in flight finish on the old model),
/// flip <c>current</c>, prune. Any failure leaves the old model serving and says why. One at a time.
/// </summary>
internal sealed class ModelUpdater(UpdateSettings settings, ModelStore store, ModelLoader loader, ModelSlot slot)
{
    private int _running;

    public UpdateSettings Settings => settings;

    public ModelStore Store => store;

    public UpdateStatus Last { get; private set; } = new("none", null, null, null, DateTimeOffset.UtcNow);

    /// <summary>Where uploads and downloads wait: <c>&lt;state&gt;/downloads</c>.</summary>
    public string DownloadsDirectory => Path.Combine(Path.GetDirectoryName(store.Root)!, "downloads");

    /// <summary>Fetches a bundle (resuming a partial download of the same URL); returns its file.</summary>
    public async Task<string> DownloadAsync(Uri url, CancellationToken cancellation)
    {
        if (url.Scheme is not ("http" or "https"))
            throw new UpdateRefusedException(StatusCodes.Status400BadRequest, $"The bundle URL must be http or https, not '{url.Scheme}'.");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        try
        {
            return await new BundleDownloader(http, DownloadsDirectory).DownloadAsync(url, settings.MaxBundleBytes, cancellation);
        }
        catch (UpdateRefusedException e)
        {
            throw Refuse(e.Status, e.Message);
        }
    }

    /// <summary>Installs the bundle in the file (written by the caller, deleted by it afterwards).</summary>
    public async Task<UpdateStatus> InstallAsync(string bundleFile, bool force)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
            throw new UpdateRefusedException(StatusCodes.Status409Conflict, "Another update is running.");
        try
        {
            if (settings.TrustedKeys.Count == 0)
                throw Refuse(StatusCodes.Status400BadRequest, "No trusted keys are configured (Ota:TrustedKeys), so no bundle can be verified.");
            string previous = slot.Current.Version;
            string directory;
            Runtime.Packaging.ModelManifest manifest;
            try
            {
                await using var bundle = File.OpenRead(bundleFile);
                (directory, manifest) = await Task.Run(() => store.Install(bundle, settings.TrustedKeys, force, servingVersion: previous));
            }
            catch (BundleException e)
            {
                throw Refuse(StatusCodes.Status400BadRequest, e.Message);
            }

            ServingModel next;
            try
            {
                next = await Task.Run(() => loader.Load(directory));
            }
            catch (ModelLoadException e)
            {
                Directory.Delete(directory, recursive: true);
                throw Refuse(StatusCodes.Status422UnprocessableEntity, $"Version {manifest.Version} does not load: {e.Message}");
            }
            if (await Task.Run(() => ModelLoader.SmokeTest(next.Engine)) is { } problem)
            {
                next.Dispose();
                Directory.Delete(directory, recursive: true);
                throw Refuse(StatusCodes.Status422UnprocessableEntity, $"Version {manifest.Version} failed its smoke test: {problem}.");
            }

            slot.Swap(next);
            store.Activate(manifest.Version);
            store.Prune(settings.KeepVersions);
            Last = new UpdateStatus("installed", manifest.Version, previous, null, DateTimeOffset.UtcNow);
            return Last;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private UpdateRefusedException Refuse(int status, string reason)
    {
        Last = new UpdateStatus("refused", null, slot.Current.Version, reason, DateTimeOffset.UtcNow);
        return new UpdateRefusedException(status, reason);
    }
}
