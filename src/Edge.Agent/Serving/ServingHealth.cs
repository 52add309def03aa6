namespace Edge.Agent.Serving;

/// <summary>
/// How one loaded model's generations ended since it went into service: finished, or failed in
/// the engine (not refused, not cancelled). The probation after an update reads it.
/// </summary>
internal sealed class ServingHealth
{
    private long _finished;
    private long _failed;

    public long Finished => Interlocked.Read(ref _finished);
    public long Failed => Interlocked.Read(ref _failed);

    public void RecordFinished() => Interlocked.Increment(ref _finished);

    public void RecordFailed() => Interlocked.Increment(ref _failed);
}
