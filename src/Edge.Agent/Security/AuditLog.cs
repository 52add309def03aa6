using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Agent.Security;

/// <summary>One audit record: who did what, when, and how it ended.</summary>
internal sealed record AuditEntry(DateTimeOffset Time, string Who, string Action, string Outcome, string? Detail);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditEntry))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;

/// <summary>
/// Admin actions and authentication failures as JSON lines, one file per UTC day under
/// &lt;state&gt;/audit, kept for Audit:RetentionDays (180 by default) and pruned as days roll over.
/// </summary>
internal sealed class AuditLog(string stateDirectory, int retentionDays, TimeProvider? clock = null)
{
    private readonly string _directory = Path.Combine(stateDirectory, "audit");
    private readonly Lock _lock = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private DateOnly _prunedFor;

    public void Write(string who, string action, string outcome, string? detail = null)
    {
        var now = _clock.GetUtcNow();
        string line = JsonSerializer.Serialize(new AuditEntry(now, who, action, outcome, detail), AuditJsonContext.Default.AuditEntry);
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        lock (_lock)
        {
            Directory.CreateDirectory(_directory);
            File.AppendAllText(Path.Combine(_directory, $"audit-{day:yyyy-MM-dd}.jsonl"), line + "\n");
            if (_prunedFor != day)
            {
                Prune(day);
                _prunedFor = day;
            }
        }
    }

    public IEnumerable<string> Files => Directory.Exists(_directory) ? Directory.EnumerateFiles(_directory, "audit-*.jsonl").Order(StringComparer.Ordinal) : [];

    private void Prune(DateOnly today)
    {
        var oldest = today.AddDays(-retentionDays);
        foreach (string file in Directory.EnumerateFiles(_directory, "audit-*.jsonl"))
        {
            string stamp = Path.GetFileNameWithoutExtension(file)["audit-".Length..];
            if (DateOnly.TryParseExact(stamp, "yyyy-MM-dd", out var day) && day < oldest)
                File.Delete(file);
        }
    }
}
