using System.Globalization;
using Edge.Agent.Serving;
using Microsoft.Extensions.Hosting.Systemd;

namespace Edge.Agent.Hosting;

/// <summary>
/// Sends WATCHDOG=1 at half of systemd's WatchdogSec, but only while the engine can serve: idle,
/// or a step finished within the watchdog period, and not stopped on a fault. A hung or dead
/// engine stops the pings, and systemd restarts the service. Microsoft.Extensions.Hosting.Systemd sends READY and
/// STOPPING only; this is the missing third.
/// </summary>
internal sealed partial class SystemdWatchdog(ILogger<SystemdWatchdog> logger, ISystemdNotifier? notifier = null, ModelSlot? slot = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (notifier is not { IsEnabled: true } || Period() is not { } period)
            return;
        var interval = period / 2;
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var status = slot is null ? EngineStatus.Ok : EngineStatus.Of(slot.Current, period, DateTimeOffset.UtcNow);
            if (status.Healthy)
                notifier.Notify(new ServiceState("WATCHDOG=1"));
            else
                Withheld(logger, status.Reason!);
        }
    }

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

    [LoggerMessage(Level = LogLevel.Error, Message = "Withholding the systemd watchdog ping: {Reason}.")]
    private static partial void Withheld(ILogger logger, string reason);
}
