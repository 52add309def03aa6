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
    private DateOnly _day;
    // Sizes as this process knows them, measured from the folder once a day (after pruning), so
    // that a flood of audited failures costs an append each, not a directory scan.
    private long _todayBytes = -1;
    private long _totalBytes;
    private long _dropped;

    public AuditLog(string stateDirectory, int retentionDays, TimeProvider? clock = null) : this(stateDirectory, new AuditLimits(retentionDays), clock)
    {
    }

    /// <summary>Lines not written: over a limit, or refused by the disk.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Write(string who, string action, string outcome, string? detail = null)
    {
        var now = _clock.GetUtcNow();
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(new AuditEntry(now, who, action, outcome, detail), AuditJsonContext.Default.AuditEntry);
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        lock (_lock)
        {
            try
            {
                string file = Path.Combine(_directory, $"audit-{day:yyyy-MM-dd}.jsonl");
                if (_day != day || _todayBytes < 0)
                    StartDay(day, file);
                long size = line.Length + 1;
                if (_todayBytes + size > limits.MaxBytesPerDay)
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }
                if (_totalBytes + size > limits.MaxTotalBytes)
                    DropOldestDays(file, size);
                using (var stream = new FileStream(file, FileMode.Append, FileAccess.Write))
                {
                    stream.Write(line);
                    stream.WriteByte((byte)'\n');
                }
                _todayBytes += size;
                _totalBytes += size;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.Increment(ref _dropped);
                _todayBytes = -1; // measure again: the append may have written part of the line
            }
        }
    }

    public IEnumerable<string> Files => Directory.Exists(_directory) ? Directory.EnumerateFiles(_directory, "audit-*.jsonl").Order(StringComparer.Ordinal) : [];

    /// <summary>A new day (or the first write, or one after a failure): prune old days and measure the folder.</summary>
    private void StartDay(DateOnly day, string file)
    {
        Directory.CreateDirectory(_directory);
        Prune(day);
        _day = day;
        _todayBytes = File.Exists(file) ? new FileInfo(file).Length : 0;
        _totalBytes = Files.Sum(f => new FileInfo(f).Length);
    }

    /// <summary>Deletes whole days, oldest first, until <paramref name="needed"/> more bytes fit; never today's file.</summary>
    private void DropOldestDays(string today, long needed)
    {
        foreach (string file in Files.Where(f => f != today).ToList())
        {
            if (_totalBytes + needed <= limits.MaxTotalBytes)
                return;
            long length = new FileInfo(file).Length;
            File.Delete(file);
            _totalBytes -= length;
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
