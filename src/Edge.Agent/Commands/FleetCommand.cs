using System.CommandLine;
using System.Globalization;
using Edge.Agent.Fleet;

namespace Edge.Agent.Commands;

/// <summary>
/// deepseek-edge fleet: the operator's fleet tool, talking only to the plant broker. list shows
/// the devices from their retained status topics; rollout sends a bundle to a group, canary wave
/// first, halting on any refusal or rollback, and resumes from its state file; status prints a
/// rollout's state file.
/// </summary>
internal static class FleetCommand
{
    public static Command Create()
    {
        var broker = new Option<string>("--broker") { Description = "Broker host:port.", DefaultValueFactory = _ => "127.0.0.1:1883" };
        var prefix = new Option<string>("--prefix") { Description = "Topic prefix of the devices (Mqtt:TopicPrefix).", DefaultValueFactory = _ => "deepseek-edge" };
        var states = new Option<string>("--state-dir") { Description = "Folder of rollout state files.", DefaultValueFactory = _ => "rollouts" };

        var listen = new Option<double>("--listen") { Description = "Seconds to gather retained statuses.", DefaultValueFactory = _ => 2 };
        var list = new Command("list", "Devices from their retained status: model, version, health, groups, last seen.") { broker, prefix, listen };
        list.SetAction((r, c) => ListAsync(r.GetValue(broker)!, r.GetValue(prefix)!, r.GetValue(listen), c));

        var url = new Argument<string>("bundle-url") { Description = "http(s) URL the devices download the signed bundle from." };
        var group = new Option<string>("--group") { Description = "Devices whose Device:Groups holds this name.", Required = true };
        var canary = new Option<string>("--canary") { Description = "The first wave: a percentage of the group (10%) or a count.", DefaultValueFactory = _ => "10%" };
        var wave = new Option<string>("--wave") { Description = "Each later wave: a percentage of the group or a count.", DefaultValueFactory = _ => "25%" };
        var waitCommit = new Option<bool>("--wait-commit") { Description = "A device counts once its probation committed the update, not when installed." };
        var id = new Option<string?>("--id") { Description = "The rollout's id; an existing state file of that id is resumed." };
        var timeout = new Option<double>("--wave-timeout") { Description = "Seconds a wave may take before the rollout halts.", DefaultValueFactory = _ => 1800 };
        var rollout = new Command("rollout", "Roll a bundle out to a group in waves, the canary first; halt on any refusal or rollback.")
            { url, group, canary, wave, waitCommit, id, timeout, broker, prefix, states, listen };
        rollout.SetAction((r, c) => RolloutAsync(r.GetValue(url)!, r.GetValue(group)!, r.GetValue(canary)!, r.GetValue(wave)!, r.GetValue(waitCommit),
            r.GetValue(id), TimeSpan.FromSeconds(r.GetValue(timeout)), r.GetValue(broker)!, r.GetValue(prefix)!, r.GetValue(states)!, r.GetValue(listen), c));

        var rolloutId = new Argument<string>("rollout") { Description = "The rollout's id." };
        var status = new Command("status", "A rollout's state: each device's progress, and the rollout's own state.") { rolloutId, states };
        status.SetAction(r => Status(r.GetValue(rolloutId)!, r.GetValue(states)!));

        return new Command("fleet", "Fleet operations over the plant's MQTT broker.") { list, rollout, status };
    }

    private static async Task<int> ListAsync(string broker, string prefix, double listen, CancellationToken cancellation)
    {
        await using var fleet = await FleetClient.ConnectAsync(broker, prefix, cancellation);
        await Task.Delay(TimeSpan.FromSeconds(listen), cancellation);
        Console.WriteLine("| device | status | model | version | groups | last update |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var device in fleet.Devices.Values.OrderBy(d => d.Device, StringComparer.Ordinal))
        {
            fleet.Outcomes.TryGetValue(device.Device, out var outcome);
            string seen = DateTimeOffset.FromUnixTimeSeconds(device.Timestamp).ToString("u", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {device.Device} | {device.Status} | {device.Model} | {device.Version} | {string.Join(',', device.Groups)} | {seen}{(outcome is null ? "" : $"; last update {outcome.Status} {outcome.Version ?? outcome.PreviousVersion}")} |");
        }
        return 0;
    }

    private static async Task<int> RolloutAsync(string url, string group, string canary, string wave, bool waitCommit, string? id, TimeSpan waveTimeout,
        string broker, string prefix, string states, double listen, CancellationToken cancellation)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine($"The bundle URL must be an absolute http or https URL, not '{url}'.");
            return 2;
        }
        id ??= $"rollout-{DateTimeOffset.UtcNow:yyyyMMddHHmmss}";
        // The id names the state file and rides in every command (which takes 1-64 printable characters): no path, no spaces.
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || id.StartsWith('.'))
        {
            Console.Error.WriteLine($"--id must be 1 to 64 letters, digits, '-', '_' or '.', not starting with '.' (got '{id}').");
            return 2;
        }
        string stateFile = Path.Combine(states, $"{id}.json");
        await using var fleet = await FleetClient.ConnectAsync(broker, prefix, cancellation);
        await Task.Delay(TimeSpan.FromSeconds(listen), cancellation); // the retained statuses and outcomes arrive
        var state = Rollout.Load(stateFile);
        if (state is not null)
            Console.WriteLine($"resuming rollout {id} ({state.Status})");
        else
        {
            var devices = fleet.Devices.Values.Where(d => d.Groups.Contains(group)).Select(d => d.Device).ToList();
            if (devices.Count == 0)
            {
                Console.Error.WriteLine($"No device of group '{group}' has published a status under '{prefix}/'.");
                return 2;
            }
            if (!TryShare(canary, devices.Count, out double canaryFraction, out int canaryCount) || !TryShare(wave, devices.Count, out double waveFraction, out int waveCount))
            {
                Console.Error.WriteLine("--canary and --wave take a percentage (10%) or a count (2).");
                return 2;
            }
            int waveSize = waveCount > 0 ? waveCount : (int)Math.Ceiling(devices.Count * waveFraction);
            state = Rollout.Plan(id, url, group, devices, canaryFraction, canaryCount, waveSize, waitCommit);
            Console.WriteLine($"rollout {id}: {devices.Count} devices of '{group}', canary {state.CanaryCount}, waves of {state.WaveSize}; state in {stateFile}");
        }
        if (state.Status != "running")
        {
            Console.WriteLine($"rollout {id} is {state.Status}{(state.Reason is null ? "" : $": {state.Reason}")}");
            return state.Status == "done" ? 0 : 1;
        }
        var result = await new Rollout(fleet, stateFile, Console.Out).RunAsync(state, waveTimeout, cancellation);
        return result.Status == "done" ? 0 : 1;
    }

    /// <summary>"10%" as a fraction, "2" as a count (the other is 0).</summary>
    private static bool TryShare(string text, int of, out double fraction, out int count)
    {
        fraction = 0;
        count = 0;
        if (text.EndsWith('%'))
            return double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) && percent is > 0 and <= 100 && (fraction = percent / 100) > 0;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count >= 1 && count <= of;
    }

    private static int Status(string id, string states)
    {
        string stateFile = Path.Combine(states, $"{id}.json");
        if (Rollout.Load(stateFile) is not { } state)
        {
            Console.Error.WriteLine($"No rollout '{id}' in {states}.");
            return 2;
        }
        Console.WriteLine($"rollout {state.Id}: {state.Status}{(state.Reason is null ? "" : $": {state.Reason}")}");
        Console.WriteLine($"bundle {state.Url}, group {state.Group}, canary {state.CanaryCount}, waves of {state.WaveSize}{(state.WaitCommit ? ", waiting for commit" : "")}");
        foreach (string device in state.Devices)
        {
            var progress = state.Progress[device];
            Console.WriteLine($"  {device}: {progress.State}{(progress.Version is null ? "" : $" {progress.Version}")}{(progress.Reason is null ? "" : $" ({progress.Reason})")}");
        }
        return state.Status == "done" ? 0 : state.Status == "running" ? 3 : 1;
    }
}
