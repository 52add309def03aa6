using System.Text.Json;

namespace Edge.Agent.Fleet;

/// <summary>
/// Rolls a bundle out to a device group in waves, the canary wave first: it publishes the update
/// command (with the rollout's id) to each device of a wave, waits for each to report the
/// outcome of that command (installed, and with WaitCommit committed after probation), and only
/// then starts the next wave. A device that refuses or rolls back halts the rollout: no further
/// device gets the bundle, so a bad model does not spread. Every change goes to the state file
/// first, so a rollout picks up where it was after its own restart; the devices keep their
/// commands durably, and the broker's retained outcomes tell a restarted rollout what happened.
/// </summary>
internal sealed class Rollout(FleetClient fleet, string stateFile, TextWriter log)
{
    public RolloutState State { get; private set; } = null!;

    public static RolloutState Plan(string id, string url, string group, IReadOnlyList<string> devices, double canaryFraction, int canaryMinimum, int waveSize, bool waitCommit)
    {
        int canary = Math.Clamp((int)Math.Ceiling(devices.Count * canaryFraction), Math.Min(canaryMinimum, devices.Count), devices.Count);
        return new RolloutState(id, url, group, canary, Math.Max(1, waveSize), waitCommit, [.. devices.Order(StringComparer.Ordinal)],
            devices.ToDictionary(d => d, _ => new DeviceRollout("pending")), "running", null, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    public static RolloutState? Load(string stateFile) =>
        File.Exists(stateFile) ? JsonSerializer.Deserialize(File.ReadAllBytes(stateFile), FleetJsonContext.Default.RolloutState) : null;

    /// <summary>Runs (or resumes) the rollout to its end: done, or halted with the reason.</summary>
    public async Task<RolloutState> RunAsync(RolloutState state, TimeSpan waveTimeout, CancellationToken cancellation)
    {
        State = state;
        Save();
        int wave = 0;
        foreach (var devices in state.Waves())
        {
            if (State.Status != "running")
                break;
            log.WriteLine($"wave {wave} ({(wave == 0 ? "canary" : "rest")}): {string.Join(", ", devices)}");
            await RunWaveAsync(devices, waveTimeout, cancellation);
            wave++;
        }
        if (State.Status == "running")
            Change(State with { Status = "done" });
        log.WriteLine($"rollout {State.Id}: {State.Status}{(State.Reason is null ? "" : $": {State.Reason}")}");
        return State;
    }

    private async Task RunWaveAsync(IReadOnlyList<string> devices, TimeSpan timeout, CancellationToken cancellation)
    {
        foreach (string device in devices.Where(d => State.Progress[d].State == "pending"))
        {
            await PublishAsync(device, cancellation);
            SetDevice(device, new DeviceRollout("sent"));
        }
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            foreach (string device in devices)
                Observe(device);
            if (devices.FirstOrDefault(d => State.Progress[d].State == "failed") is { } failed)
            {
                Change(State with { Status = "halted", Reason = $"{failed}: {State.Progress[failed].Reason}" });
                return;
            }
            string done = State.WaitCommit ? "committed" : "installed";
            if (devices.All(d => State.Progress[d].State == done))
                return;
            if (DateTimeOffset.UtcNow > deadline)
            {
                var waiting = devices.Where(d => State.Progress[d].State != done).ToList();
                Change(State with { Status = "halted", Reason = $"timed out waiting for {string.Join(", ", waiting)}" });
                return;
            }
            await fleet.WaitForChangeAsync(TimeSpan.FromSeconds(1), cancellation);
        }
    }

    /// <summary>Moves a device on by its latest outcome, if that outcome answers this rollout's command.</summary>
    private void Observe(string device)
    {
        var progress = State.Progress[device];
        if (progress.State is "committed" or "failed" || !fleet.Outcomes.TryGetValue(device, out var outcome))
            return;
        bool ours = outcome.Command == State.Id;
        switch (outcome.Status)
        {
            case "installed" when ours && progress.State == "sent":
                SetDevice(device, new DeviceRollout("installed", outcome.Version));
                log.WriteLine($"  {device}: installed {outcome.Version}");
                break;
            case "committed" when ours || (progress.State == "installed" && outcome.Version == progress.Version):
                SetDevice(device, new DeviceRollout("committed", outcome.Version));
                log.WriteLine($"  {device}: committed {outcome.Version}");
                break;
            case "refused" when ours:
                SetDevice(device, new DeviceRollout("failed", null, $"refused: {outcome.Reason}"));
                log.WriteLine($"  {device}: refused: {outcome.Reason}");
                break;
            case "rolled-back" when ours || (progress.State == "installed" && outcome.PreviousVersion == progress.Version):
                SetDevice(device, new DeviceRollout("failed", progress.Version, $"rolled back: {outcome.Reason}"));
                log.WriteLine($"  {device}: rolled back: {outcome.Reason}");
                break;
        }
    }

    /// <summary>Publishes the command, waiting out a broker that is away (the client reconnects by itself).</summary>
    private async Task PublishAsync(string device, CancellationToken cancellation)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await fleet.PublishCommandAsync(device, State.Url, State.Id, cancellation);
                return;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException && attempt < 600)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellation);
            }
        }
    }

    private void SetDevice(string device, DeviceRollout progress)
    {
        State.Progress[device] = progress;
        Save();
    }

    private void Change(RolloutState state)
    {
        State = state;
        Save();
    }

    /// <summary>The state file, replaced atomically, so a crash leaves the old state or the new.</summary>
    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stateFile))!);
        string temporary = stateFile + ".new";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(State, FleetJsonContext.Default.RolloutState));
        File.Move(temporary, stateFile, overwrite: true);
    }
}
