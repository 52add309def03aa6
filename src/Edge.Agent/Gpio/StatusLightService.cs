using System.Device.Gpio;
using Edge.Agent.Configuration;
using Edge.Agent.Serving;

namespace Edge.Agent.Gpio;

/// <summary>
/// Keeps the status LEDs current: ready while serving, busy while sequences run or wait, error
/// while the engine has stopped on a fault or its inference loop has work but makes no progress. Without configured pins it does
/// nothing; without a GPIO chip it logs one line and the daemon runs on.
/// </summary>
internal sealed partial class StatusLightService(IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<StatusLightService> logger,
    Serving.ModelSlot? slot = null, Func<GpioController>? controllerFactory = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int? ready = Pin("Gpio:ReadyPin"), busy = Pin("Gpio:BusyPin"), error = Pin("Gpio:ErrorPin");
        if (ready is null && busy is null && error is null)
            return;
        StatusLights lights;
        try
        {
            lights = new StatusLights((controllerFactory ?? (() => new GpioController()))(), ready, busy, error);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NoGpio(logger, e.Message);
            return;
        }
        using (lights)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            do
            {
                var (isReady, isBusy, isError) = Evaluate(lifetime.ApplicationStarted.IsCancellationRequested, slot?.Current, DateTimeOffset.UtcNow);
                lights.Show(isReady, isBusy, isError);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
    }

    /// <summary>Ready while started and healthy; busy while sequences run or wait; error while the engine stopped or stalled.</summary>
    internal static (bool Ready, bool Busy, bool Error) Evaluate(bool started, ServingModel? model, DateTimeOffset now)
    {
        var scheduler = model?.Scheduler;
        bool busy = scheduler is not null && (scheduler.ActiveSequences > 0 || scheduler.QueueDepth > 0);
        bool error = model is not null && !EngineStatus.Of(model, now).Healthy;
        return (started && !error, busy, error);
    }

    private int? Pin(string key) => configuration[key] is { Length: > 0 } ? ConfigurationValues.ReadInt(configuration, key, 0, minimum: 0) : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPIO status LEDs are configured but no GPIO controller is available ({Reason}); running without them.")]
    private static partial void NoGpio(ILogger logger, string reason);
}
