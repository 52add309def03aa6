using Edge.Agent.Metrics;
using Edge.Agent.Security;
using Edge.Agent.Serving;
using Edge.Runtime;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Ota;

/// <summary>An update that did not happen, and why; the model in service is unchanged.</summary>
internal sealed class UpdateRefusedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// Installs a bundle while the daemon serves: verify and extract into the store, load it into a
/// second engine, pass its smoke test, swap it in (requests in flight finish on the old model),
/// flip <c>current</c>, prune, and put the new version on probation; rolls a version that fails
/// its probation back. Any failure leaves the old model serving and says why, in the log, the
/// audit log, the journal (status route) and the metrics. One operation at a time.
/// </summary>
/// <param name="startedOn">The package the daemon started with: what a rollback returns to when the store has no previous version.</param>
internal sealed partial class ModelUpdater(UpdateSettings settings, ModelStore store, OtaJournal journal, ModelLoader loader, ModelSlot slot,
    string startedOn, AuditLog audit, AgentMetrics metrics, ILogger<ModelUpdater> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Every outcome as it is recorded (installed, refused, committed, rolled-back), whoever triggered it.</summary>
    public event Action<UpdateStatus>? Outcome;

    public UpdateSettings Settings => settings;

    public ModelStore Store => store;

    public OtaJournal Journal => journal;

    public UpdateStatus Last => journal.Last ?? new("none", null, null, null, DateTimeOffset.UnixEpoch);

    /// <summary>Where uploads and downloads wait: <c>&lt;state&gt;/downloads</c>.</summary>
    public string DownloadsDirectory => DownloadsFolder(Path.GetDirectoryName(store.Root)!);

    public static string DownloadsFolder(string stateDirectory) => Path.Combine(stateDirectory, "downloads");

    /// <summary>Fetches a bundle (resuming a partial download of the same URL); returns its file.</summary>
    public async Task<string> DownloadAsync(Uri url, string who, CancellationToken cancellation)
    {
        if (settings.Downloads.Problem(url) is { } problem)
            throw Refuse(who, StatusCodes.Status400BadRequest, problem);
        using var http = settings.Downloads.CreateClient(TimeSpan.FromMinutes(30));
        try
        {
            Step(logger, "download", url.AbsoluteUri);
            return await new BundleDownloader(http, settings.Downloads, DownloadsDirectory).DownloadAsync(url, settings.MaxBundleBytes, cancellation);
        }
        catch (UpdateRefusedException e)
        {
            throw Refuse(who, e.Status, e.Message);
        }
    }

    /// <summary>Installs the bundle in the file (written by the caller, deleted by it afterwards).</summary>
    /// <param name="who">The caller, for the audit log.</param>
    public async Task<UpdateStatus> InstallAsync(string bundleFile, bool force, string who)
    {
        if (!_gate.Wait(0))
            throw Refuse(who, StatusCodes.Status409Conflict, "Another update is running.");
        try
        {
            if (settings.TrustedKeys.Count == 0)
                throw Refuse(who, StatusCodes.Status400BadRequest, "No trusted keys are configured (Ota:TrustedKeys), so no bundle can be verified.");
            string previous = slot.Current.Version;
            string directory;
            Runtime.Packaging.ModelManifest manifest;
            try
            {
                await using var bundle = File.OpenRead(bundleFile);
                (directory, manifest) = await Task.Run(() => store.Install(bundle, settings.TrustedKeys, force, servingVersion: previous,
                    refuse: version => !force && journal.IsRejected(version)
                        ? $"Version {version} was rolled back before; force the update to install it again."
                        : null));
            }
            catch (BundleException e)
            {
                throw Refuse(who, StatusCodes.Status400BadRequest, e.Message);
            }
            Step(logger, "verified and extracted", directory);

            ServingModel next;
            try
            {
                next = await Task.Run(() => loader.Load(directory));
            }
            catch (ModelLoadException e)
            {
                Directory.Delete(directory, recursive: true);
                throw Refuse(who, StatusCodes.Status422UnprocessableEntity, $"Version {manifest.Version} does not load: {e.Message}");
            }
            Step(logger, "loaded", manifest.Version);
            if (await Task.Run(() => ModelLoader.SmokeTest(next.Engine)) is { } problem)
            {
                next.Dispose();
                Directory.Delete(directory, recursive: true);
                throw Refuse(who, StatusCodes.Status422UnprocessableEntity, $"Version {manifest.Version} failed its smoke test: {problem}.");
            }
            Step(logger, "smoke test passed", manifest.Version);

            // Probation first: a power cut after the link flips must still find the version on trial.
            journal.BeginProbation(manifest.Version, previous);
            slot.Swap(next);
            Swapped(logger, previous, manifest.Version);
            store.Activate(manifest.Version);
            Step(logger, "current flipped", manifest.Version);
            foreach (string removed in store.Prune(settings.KeepVersions))
                Step(logger, "pruned", removed);
            return Record(who, new UpdateStatus("installed", manifest.Version, previous, null, DateTimeOffset.UtcNow));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The version on probation passed it: it stays, and the probation ends.</summary>
    public async Task CommitAsync(string version)
    {
        await _gate.WaitAsync();
        try
        {
            if (journal.Probation?.Version != version)
                return;
            journal.EndProbation();
            Record("probation", new UpdateStatus("committed", version, journal.Last?.PreviousVersion, null, DateTimeOffset.UtcNow));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The version on probation failed it: load the previous version, smoke-test it, swap it in,
    /// point <c>current</c> back at it and remove the failed one (with no previous installed version,
    /// the model the daemon started on). When that cannot serve either, the failed one stays (a model that sometimes fails beats none) and that is logged.
    /// </summary>
    public async Task RollBackAsync(string version, string reason)
    {
        await _gate.WaitAsync();
        try
        {
            if (journal.Probation?.Version != version || slot.Current.Version != version)
                return;
            // Started on the failed version itself (a restart during probation, no previous installed): the built-in model.
            string previousDirectory = store.Previous ?? (startedOn == store.Current ? AgentDefaults.ModelDirectory : startedOn);
            ServingModel previous;
            try
            {
                previous = await Task.Run(() => loader.Load(previousDirectory));
            }
            catch (ModelLoadException e)
            {
                Failed(logger, version, reason, e.Message);
                journal.EndProbation();
                return;
            }
            if (await Task.Run(() => ModelLoader.SmokeTest(previous.Engine)) is { } problem)
            {
                previous.Dispose();
                Failed(logger, version, reason, problem);
                journal.EndProbation();
                return;
            }
            slot.Swap(previous);
            store.RollBack();
            journal.Reject(version, Audit("probation", new UpdateStatus("rolled-back", previous.Version, version, reason, DateTimeOffset.UtcNow)));
            RolledBack(logger, version, previous.Version, reason);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// An operator's rollback: the previous installed version (the store's <c>previous</c>, else the
    /// model the daemon started on) is loaded, smoke-tested and swapped in, <c>current</c> points back
    /// at it and the version rolled back from is removed. Refused (409) when nothing is installed or
    /// the previous version cannot serve; the model in service then stays.
    /// </summary>
    public async Task<UpdateStatus> RollBackToPreviousAsync(string who)
    {
        await _gate.WaitAsync();
        try
        {
            string from = slot.Current.Version;
            if (store.Current is null)
                throw Refuse(who, StatusCodes.Status409Conflict, "No update is installed: the model the daemon started on is serving, and there is nothing before it.");
            // As after a failed probation: the previous installed version, else the model the daemon started on.
            string previousDirectory = store.Previous ?? (startedOn == store.Current ? AgentDefaults.ModelDirectory : startedOn);
            ServingModel previous;
            try
            {
                previous = await Task.Run(() => loader.Load(previousDirectory));
            }
            catch (ModelLoadException e)
            {
                throw Refuse(who, StatusCodes.Status409Conflict, $"The previous version does not load: {e.Message}");
            }
            if (await Task.Run(() => ModelLoader.SmokeTest(previous.Engine)) is { } problem)
            {
                previous.Dispose();
                throw Refuse(who, StatusCodes.Status409Conflict, $"The previous version failed its smoke test: {problem}");
            }
            journal.EndProbation();
            slot.Swap(previous);
            store.RollBack();
            var status = Record(who, new UpdateStatus("rolled-back", previous.Version, from, $"requested by {who}", DateTimeOffset.UtcNow));
            RolledBack(logger, from, previous.Version, $"requested by {who}");
            return status;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A refusal decided before the updater ran (malformed command, body too large): audited and recorded like the rest.</summary>
    public void RecordRefusal(string who, string reason) => Refuse(who, StatusCodes.Status400BadRequest, reason);

    private UpdateRefusedException Refuse(string who, int status, string reason)
    {
        Record(who, new UpdateStatus("refused", null, slot.Current.Version, reason, DateTimeOffset.UtcNow));
        Refused(logger, reason);
        return new UpdateRefusedException(status, reason);
    }

    private UpdateStatus Record(string who, UpdateStatus status)
    {
        journal.RecordOutcome(Audit(who, status));
        return status;
    }

    /// <summary>The audit record and the metric of an outcome.</summary>
    private UpdateStatus Audit(string who, UpdateStatus status)
    {
        audit.Write(who, "model update", status.State, status.Reason ?? $"{status.PreviousVersion} -> {status.Version}");
        metrics.CountUpdate(status.State);
        Outcome?.Invoke(status);
        return status;
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Update: swapped {Previous} -> {Version}; new requests go to {Version}.")]
    private static partial void Swapped(ILogger logger, string previous, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Update: {Step} {Detail}.")]
    private static partial void Step(ILogger logger, string step, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Update refused: {Reason} The current model keeps serving.")]
    private static partial void Refused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Version {Failed} failed its probation ({Reason}); rolled back to {Previous}.")]
    private static partial void RolledBack(ILogger logger, string failed, string previous, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Version {Failed} failed its probation ({Reason}) but cannot be rolled back ({Problem}); it keeps serving.")]
    private static partial void Failed(ILogger logger, string failed, string reason, string problem);
}
