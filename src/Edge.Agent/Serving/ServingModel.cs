using Edge.Agent.Caching;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Serving;

/// <summary>
/// One loaded model and what is bound to it: the engine, its batching scheduler, the response
/// cache for its version and how its generations ended. Requests hold a lease; a model retired by
/// an update is disposed when its last lease ends, so in-flight requests finish on it.
/// </summary>
internal sealed class ServingModel(InferenceEngine engine, GenerationScheduler? scheduler, ResponseCache? cache, ServingHealth health) : IDisposable
{
    private int _leases;
    private int _retired;
    private int _disposed;

    public InferenceEngine Engine { get; } = engine;
    public GenerationScheduler? Scheduler { get; } = scheduler;
    public ResponseCache? Cache { get; } = cache;
    public ServingHealth Health { get; } = health;
    public string Version => Engine.Package.Manifest.Version;

    internal void AddLease() => Interlocked.Increment(ref _leases);

    internal void ReleaseLease()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && Volatile.Read(ref _retired) == 1)
            Dispose();
    }

    /// <summary>No new leases will come; disposes now if none is held, else when the last ends.</summary>
    internal void Retire()
    {
        Volatile.Write(ref _retired, 1);
        if (Volatile.Read(ref _leases) == 0)
            Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Scheduler?.Dispose();
        Cache?.Dispose();
        Engine.Dispose();
    }
}
