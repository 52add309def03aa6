using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Runtime.Storage;

namespace Edge.Agent.Ota;

/// <summary>The outcome of the last update attempt (installed, refused, committed, rolled-back), for the status route.</summary>
internal sealed record UpdateStatus(string State, string? Version, string? PreviousVersion, string? Reason, DateTimeOffset At);

/// <summary>
/// A version on probation since <paramref name="Since"/>; <paramref name="Running"/> is true from a
/// start to a clean stop, so a start that finds it true counts a crash in <paramref name="UncleanStarts"/>.
/// </summary>
internal sealed record Probation(string Version, string? PreviousVersion, DateTimeOffset Since, int UncleanStarts, bool Running);

/// <param name="History">The latest outcomes, oldest first (at most <see cref="OtaJournal.HistoryLength"/>): what the device page shows.</param>
internal sealed record OtaJournalContent(UpdateStatus? Last, Probation? Probation, IReadOnlyList<string>? Rejected, IReadOnlyList<UpdateStatus>? History = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(OtaJournalContent))]
internal sealed partial class OtaJournalJsonContext : JsonSerializerContext;

/// <summary>
/// What the update machinery must remember across restarts and power cuts, in
/// <c>&lt;state&gt;/models/ota.json</c> (replaced atomically): the last attempt's outcome, the
/// version on probation and the versions rolled back (not installed again unless forced).
/// </summary>
internal sealed class OtaJournal
{
    public const string FileName = "ota.json";
    public const int HistoryLength = 20;
    private readonly Lock _lock = new();
    private readonly string _path;
    private OtaJournalContent _content;

    public OtaJournal(string modelsDirectory)
    {
        _path = Path.Combine(modelsDirectory, FileName);
        _content = Read(_path);
    }

    public UpdateStatus? Last => _content.Last;

    public Probation? Probation => _content.Probation;

    public bool IsRejected(string version) => _content.Rejected?.Contains(version, StringComparer.Ordinal) == true;

    /// <summary>The latest outcomes, oldest first.</summary>
    public IReadOnlyList<UpdateStatus> History => _content.History ?? (_content.Last is { } last ? [last] : []);

    public void RecordOutcome(UpdateStatus status) => Change(c => c with { Last = status, History = Appended(c, status) });

    private static List<UpdateStatus> Appended(OtaJournalContent content, UpdateStatus status) => [.. (content.History ?? []).TakeLast(HistoryLength - 1), status];

    public void BeginProbation(string version, string? previousVersion) =>
        Change(c => c with { Probation = new Probation(version, previousVersion, DateTimeOffset.UtcNow, UncleanStarts: 0, Running: true) });

    public void EndProbation() => Change(c => c with { Probation = null });

    /// <summary>A version that failed: off probation, and remembered so it is not installed again unforced.</summary>
    public void Reject(string version, UpdateStatus outcome) => Change(c => c with
    {
        Last = outcome,
        History = Appended(c, outcome),
        Probation = null,
        Rejected = [.. (c.Rejected ?? []).Where(v => v != version).TakeLast(49), version],
    });

    /// <summary>At start: counts the previous run as a crash if it never stopped cleanly; returns the probation, if any.</summary>
    public Probation? RecordStart()
    {
        if (_content.Probation is { } probation)
            Change(c => c with { Probation = probation with { UncleanStarts = probation.UncleanStarts + (probation.Running ? 1 : 0), Running = true } });
        return _content.Probation;
    }

    public void RecordCleanStop()
    {
        if (_content.Probation is { Running: true } probation)
            Change(c => c with { Probation = probation with { Running = false } });
    }

    /// <summary>Raised when the journal could not be written (a full or read-only disk); the change holds in memory for this run.</summary>
    public event Action<string>? WriteFailed;

    private void Change(Func<OtaJournalContent, OtaJournalContent> change)
    {
        lock (_lock)
        {
            var next = change(_content);
            _content = next;
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
                DurableFileSystem.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(next, OtaJournalJsonContext.Default.OtaJournalContent));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A daemon that cannot record an update's outcome still serves; the next write may succeed.
                WriteFailed?.Invoke($"{_path} could not be written ({e.Message}); the update journal holds in memory only");
            }
        }
    }

    private static OtaJournalContent Read(string path)
    {
        var empty = new OtaJournalContent(null, null, null);
        if (!File.Exists(path))
            return empty;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), OtaJournalJsonContext.Default.OtaJournalContent) ?? empty;
        }
        catch (JsonException)
        {
            // Written atomically, so only a hand edit gets here; an empty journal is the safe reading.
            return empty;
        }
    }
}
