using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Agent.Security;

/// <summary>One audit record: who did what, when, and how it ended.</summary>
internal sealed record AuditEntry(DateTimeOffset Time, string Who, string Action, string Outcome, string? Detail);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditEntry))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;

/// <summary>How much audit log the device keeps: days, bytes a day, bytes in all.</summary>
internal sealed record AuditLimits(int RetentionDays = 180, long MaxBytesPerDay = 1 << 20, long MaxTotalBytes = 16L << 20);

/// <summary>
/// Admin actions and authentication failures as JSON lines, one file per UTC day under
/// &lt;state&gt;/audit, kept for Audit:RetentionDays (180) and pruned as days roll over. Bounded so
/// that a flood of failed logins cannot fill the disk: at most Audit:MaxKilobytesPerDay (1024) a
/// day and Audit:MaxMegabytes (16) in all (the oldest days go first); lines beyond a limit, or
/// that a full disk refuses, are dropped and counted, never fail the request being audited.
/// </summary>
internal sealed class AuditLog(string stateDirectory, AuditLimits limits, TimeProvider? clock = null)
{
    private readonly string _directory = Path.Combine(stateDirectory, "audit");
    private readonly Lock _lock = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private DateOnly _prunedFor;
    private long _dropped;

    public AuditLog(string stateDirectory, int retentionDays, TimeProvider? clock = null) : this(stateDirectory, new AuditLimits(retentionDays), clock)
    {
    }

    /// <summary>Lines not written: over a limit, or refused by the disk.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Write(string who, string action, string outcome, string? detail = null)
    {
        var now = _clock.GetUtcNow();
        string line = JsonSerializer.Serialize(new AuditEntry(now, who, action, outcome, detail), AuditJsonContext.Default.AuditEntry) + "\n";
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        lock (_lock)
        {
            try
            {
                Directory.CreateDirectory(_directory);
                if (_prunedFor != day)
                {
                    Prune(day);
                    _prunedFor = day;
                }
                string file = Path.Combine(_directory, $"audit-{day:yyyy-MM-dd}.jsonl");
                long today = File.Exists(file) ? new FileInfo(file).Length : 0;
                if (today + line.Length > limits.MaxBytesPerDay)
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }
                if (TotalBytes() + line.Length > limits.MaxTotalBytes)
                    DropOldestBut(file, line.Length);
                File.AppendAllText(file, line);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    public IEnumerable<string> Files => Directory.Exists(_directory) ? Directory.EnumerateFiles(_directory, "audit-*.jsonl").Order(StringComparer.Ordinal) : [];

    private long TotalBytes() => Files.Sum(f => new FileInfo(f).Length);

    /// <summary>Deletes whole days, oldest first, until a line of <paramref name="needed"/> bytes fits; never today's file.</summary>
    private void DropOldestBut(string today, long needed)
    {
        foreach (string file in Files.Where(f => f != today).ToList())
        {
            if (TotalBytes() + needed <= limits.MaxTotalBytes)
                return;
            File.Delete(file);
        }
    }

    private void Prune(DateOnly today)
    {
        var oldest = today.AddDays(-limits.RetentionDays);
        foreach (string file in Directory.EnumerateFiles(_directory, "audit-*.jsonl"))
        {
            string stamp = Path.GetFileNameWithoutExtension(file)["audit-".Length..];
            if (DateOnly.TryParseExact(stamp, "yyyy-MM-dd", out var day) && day < oldest)
                File.Delete(file);
        }
    }
}
