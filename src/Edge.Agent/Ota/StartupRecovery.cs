namespace Edge.Agent.Ota;

/// <summary>
/// Chooses the installed model to serve at start: rolls a version on probation back when the
/// daemon keeps crashing with it (more than Ota:ProbationMaxRestarts starts without a clean stop),
/// removes uploads a crash interrupted (they cannot resume; downloads can and stay), then lets the
/// store recover <c>current</c>. Says what it did through <paramref name="report"/>.
/// </summary>
internal static class StartupRecovery
{
    /// <returns>The package folder to serve, or null when the store holds none.</returns>
    public static string? ChooseModel(ModelStore store, OtaJournal journal, ProbationSettings probation, string downloadsDirectory,
        Security.AuditLog audit, Action<string> report)
    {
        if (Directory.Exists(downloadsDirectory))
        {
            foreach (string upload in Directory.EnumerateFiles(downloadsDirectory, "upload-*"))
                File.Delete(upload);
        }
        if (journal.RecordStart() is { } trial)
        {
            string? current = store.Current is { } folder ? Path.GetFileName(folder) : null;
            if (current != trial.Version)
            {
                journal.EndProbation(); // a power cut came between the probation record and the link flip, or after a rollback
            }
            else if (trial.UncleanStarts > probation.MaxRestarts)
            {
                string reason = $"the daemon stopped uncleanly {trial.UncleanStarts} times while version {trial.Version} was on probation (limit {probation.MaxRestarts})";
                string previous = store.RollBack() is { } restored ? Path.GetFileName(restored) : trial.PreviousVersion ?? "the built-in model";
                var outcome = new UpdateStatus("rolled-back", previous, trial.Version, reason, DateTimeOffset.UtcNow);
                audit.Write("probation", "model update", outcome.State, reason);
                journal.Reject(trial.Version, outcome);
                report($"Rolled version {trial.Version} back to {previous}: {reason}.");
            }
        }
        return store.Recover(report);
    }
}
