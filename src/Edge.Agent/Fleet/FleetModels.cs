using System.Text.Json.Serialization;

namespace Edge.Agent.Fleet;

/// <summary>A device as its retained status shows it.</summary>
internal sealed record DeviceView(string Device, string Status, string Model, string Version, IReadOnlyList<string> Groups, long Timestamp);

/// <summary>A device's latest update outcome (its retained ota/status).</summary>
internal sealed record OtaOutcome(string Status, string? Version, string? PreviousVersion, string? Reason, string? Command);

/// <summary>Where one device of a rollout stands: pending, sent, installed, committed or failed.</summary>
internal sealed record DeviceRollout(string State, string? Version = null, string? Reason = null);

/// <summary>
/// A rollout, as kept in its state file after every change: the bundle, the devices in wave
/// order, each one's progress, and the rollout's own state (running, halted, done).
/// </summary>
internal sealed record RolloutState(string Id, string Url, string Group, int CanaryCount, int WaveSize, bool WaitCommit,
    IReadOnlyList<string> Devices, Dictionary<string, DeviceRollout> Progress, string Status, string? Reason, long Started)
{
    public IEnumerable<IReadOnlyList<string>> Waves()
    {
        yield return [.. Devices.Take(CanaryCount)];
        for (int start = CanaryCount; start < Devices.Count; start += WaveSize)
            yield return [.. Devices.Skip(start).Take(WaveSize)];
    }
}

/// <summary>The JSON the fleet tool reads from devices (their status and ota/status) and keeps (rollout state).</summary>
internal sealed record StatusMessage(string Status, string Device, string Model, string Version, long Timestamp, IReadOnlyList<string>? Groups);

internal sealed record OtaStatusMessage(string Status, string? Version, string? PreviousVersion, string? Reason, string? Command);

internal sealed record OtaCommandMessage(string Url, string Id);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(RolloutState))]
[JsonSerializable(typeof(StatusMessage))]
[JsonSerializable(typeof(OtaStatusMessage))]
[JsonSerializable(typeof(OtaCommandMessage))]
internal sealed partial class FleetJsonContext : JsonSerializerContext;
