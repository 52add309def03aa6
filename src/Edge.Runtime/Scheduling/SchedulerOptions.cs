namespace Edge.Runtime.Scheduling;

/// <summary>How the scheduler batches concurrent generations.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Most sequences decoded together in one step.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>
    /// When the first request arrives at an idle engine, how long to wait for companions before
    /// the first step. Sequences arriving later join at the next step without any wait, so the
    /// default is 0: a wait only delays a lone request (50 ms made a 1-token answer take 54 ms
    /// instead of 3 ms, measured with bench-mqtt) while continuous batching gathers a burst anyway.
    /// </summary>
    public int MaxWaitMs { get; init; }

    /// <summary>Requests waiting for a slot beyond this are refused as overloaded.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>
    /// Most prompt tokens prefilled between two decode steps. A longer prompt is prefilled in chunks
    /// of this size, so the sequences already decoding wait at most one chunk for their next token;
    /// a smaller chunk lowers that wait and costs some prefill speed.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 256;

    /// <summary>
    /// Memory for computed prompt prefixes (system prompts, conversations so far) that later prompts
    /// starting the same way copy instead of recomputing. 0 turns prefix reuse off.
    /// </summary>
    public long PrefixCacheBytes { get; init; } = 64L << 20;

    public void Validate()
    {
        if (MaxBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "max_batch_size must be at least 1.");
        if (MaxWaitMs < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxWaitMs), MaxWaitMs, "max_wait_ms must be 0 or more.");
        if (PrefillChunkTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(PrefillChunkTokens), PrefillChunkTokens, "prefill_chunk_tokens must be at least 1.");
        if (PrefixCacheBytes < 0)
            throw new ArgumentOutOfRangeException(nameof(PrefixCacheBytes), PrefixCacheBytes, "prefix_cache_bytes must be 0 or more.");
        if (MaxQueue < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxQueue), MaxQueue, "max_queue must be at least 1.");
    }
}

/// <summary>The queue is full: the request was not accepted and nothing ran. Retry later.</summary>
public sealed class SchedulerOverloadedException(string message) : Exception(message);

/// <summary>
/// The engine cannot take requests: its inference loop stopped after a fault it could not recover
/// from. The reason says what failed; the daemon reports it on /readyz and stops the watchdog.
/// </summary>
public sealed class EngineUnavailableException(string message) : Exception(message);
