using System.Globalization;
using Edge.Runtime.Scheduling;
using Microsoft.Extensions.Hosting.Systemd;

namespace Edge.Agent.Hosting;

/// <summary>
/// Sends WATCHDOG=1 at half of systemd's WatchdogSec, but only while the inference loop makes
/// progress: idle, or a step finished within the watchdog period. A hung model stops the pings,
/// and systemd restarts the service. Microsoft.Extensions.Hosting.Systemd sends READY and
/// STOPPING only; this is the missing third.
/// </summary>
internal sealed partial class SystemdWatchdog(ILogger<SystemdWatchdog> logger, ISystemdNotifier? notifier = null, Serving.ModelSlot? slot = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (notifier is not { IsEnabled: true } || Period() is not { } period)
            return;
        var interval = period / 2;
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var scheduler = slot?.Current.Scheduler;
            if (IsMakingProgress(scheduler, period, DateTimeOffset.UtcNow))
                notifier.Notify(new ServiceState("WATCHDOG=1"));
            else
                Stalled(logger, scheduler!.LastProgress);
        }
    }

    /// <summary>Idle, or the last step is recent enough.</summary>
    internal static bool IsMakingProgress(GenerationScheduler? scheduler, TimeSpan period, DateTimeOffset now) =>
        scheduler is null
        || (scheduler.ActiveSequences == 0 && scheduler.QueueDepth == 0)
        || now - scheduler.LastProgress < period;

    /// <summary>WatchdogSec as systemd hands it over, when it is for this process.</summary>
    private static TimeSpan? Period()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long usec) || usec <= 0)
            return null;
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            return null;
        return TimeSpan.FromMicroseconds(usec);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The inference loop has made no progress since {LastProgress:o}; withholding the systemd watchdog ping.")]
    private static partial void Stalled(ILogger logger, DateTimeOffset lastProgress);
}
