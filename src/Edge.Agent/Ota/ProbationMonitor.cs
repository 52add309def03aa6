using Edge.Agent.Serving;

namespace Edge.Agent.Ota;

/// <summary>
/// Watches a freshly installed version through its probation: rolls it back when too many of its
/// generations fail, commits it when the window passes (counted from the swap, or from this
/// start after a restart), and records a clean stop so the next start does not count a crash.
/// </summary>
internal sealed class ProbationMonitor(ModelUpdater updater, ModelSlot slot) : BackgroundService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        var settings = updater.Settings.Probation;
        string? watching = null;
        var armed = DateTimeOffset.UtcNow;
        using var timer = new PeriodicTimer(CheckEvery);
        while (await timer.WaitForNextTickAsync(stopping))
        {
            if (updater.Journal.Probation is not { } probation)
            {
                watching = null;
                continue;
            }
            var model = slot.Current;
            if (model.Version != probation.Version)
                continue; // --model serves something else, or a swap is under way
            if (watching != probation.Version)
            {
                watching = probation.Version;
                armed = DateTimeOffset.UtcNow;
            }
            if (settings.Verdict(model.Health.Finished, model.Health.Failed) is { } reason)
                await updater.RollBackAsync(probation.Version, reason);
            else if (DateTimeOffset.UtcNow - armed >= settings.Window)
                await updater.CommitAsync(probation.Version);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        updater.Journal.RecordCleanStop();
    }
}
