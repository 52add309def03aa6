using System.Diagnostics;
using System.Threading.Channels;
using Edge.Runtime.Inference;

namespace Edge.Runtime.Scheduling;

/// <summary>
/// Continuous batching: requests queue (bounded), join the running batch at the next step, and
/// leave it the moment they finish or are cancelled. One inference thread owns the model; each
/// decode step runs every active sequence together. Between two steps at most
/// <see cref="SchedulerOptions.PrefillChunkTokens"/> prompt tokens are prefilled, so a long prompt
/// is spread over several steps instead of stalling the sequences already decoding; a prompt
/// whose beginning was computed before starts after it (prefix reuse, where the executor keeps prefixes).
/// A fault fails only the sequences it touched: a prefill or sampling fault its own sequence, a
/// step fault the batch that step ran (the executor is then rebuilt). If the executor cannot be
/// rebuilt, or steps keep failing, the scheduler stops and says why in <see cref="Fault"/>.
/// </summary>
public sealed class GenerationScheduler : IDisposable
{
    /// <summary>Step faults in a row, with no good step between them, after which the engine is declared dead.</summary>
    public const int MaxConsecutiveStepFaults = 3;

    private readonly InferenceEngine _engine;
    private readonly SchedulerOptions _options;
    private readonly Func<int, IBatchExecutor> _executorFactory;
    private IBatchExecutor _executor;
    // Read once: every executor the factory makes holds the same positions, and requests read it on their own threads.
    private readonly int _capacity;
    private bool _executorReleased;
    private int _disposed;
    private readonly Channel<Request> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _loop;
    private readonly Request?[] _slots;
    // Decoding sequences hold slots 0.._active-1; the one whose prompt is being prefilled, if any,
    // holds _prefillSlot (= _active once compacted) with _prefilled positions written so far.
    private int _active;
    private Request? _prefilling;
    private int _prefillSlot;
    private int _prefilled;
    private int _queued;
    private int _consecutiveStepFaults;
    private string? _fault;
    private long _faultsSurvived;

    /// <param name="executorFactory">Makes the batch executor for a batch size (ONNX Runtime's by default); called again to rebuild after a step fault.</param>
    public GenerationScheduler(InferenceEngine engine, SchedulerOptions? options = null, Func<int, IBatchExecutor>? executorFactory = null)
    {
        _engine = engine;
        _options = options ?? new SchedulerOptions();
        _options.Validate();
        _executorFactory = executorFactory ?? (maxBatch => OnnxRuntimeExecutor(engine, maxBatch, _options.PrefixCacheBytes));
        _executor = _executorFactory(_options.MaxBatchSize);
        _capacity = _executor.Capacity;
        _slots = new Request?[_options.MaxBatchSize];
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(_options.MaxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _loop = new Thread(Loop) { IsBackground = true, Name = "deepseek-edge inference" };
        _loop.Start();
    }

    /// <summary>The executor the scheduler uses unless given another: the model's session on ONNX Runtime.</summary>
    public static IBatchExecutor OnnxRuntimeExecutor(InferenceEngine engine, int maxBatch, long prefixCacheBytes = 0) =>
        new BatchedDecoder(engine.Session, maxBatch, prefixCacheBytes);

    /// <summary>Requests waiting for a slot.</summary>
    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>Sequences in the running batch.</summary>
    public int ActiveSequences => Volatile.Read(ref _active);

    /// <summary>Prompt positions taken from kept prefixes instead of being computed: for metrics and tests.</summary>
    public long PrefixTokensReused => Interlocked.Read(ref _prefixTokensReused);

    private long _prefixTokensReused;

    /// <summary>Null while the scheduler serves; once it has stopped on a fault it could not recover from, the reason.</summary>
    public string? Fault => Volatile.Read(ref _fault);

    /// <summary>Faults the scheduler failed the touched sequences for and went on: for metrics and logs.</summary>
    public long FaultsSurvived => Interlocked.Read(ref _faultsSurvived);

    /// <summary>Raised on the inference thread when a fault failed some sequences (the scheduler went on) or stopped the scheduler.</summary>
    public event Action<GenerationStage, Exception, bool>? Faulted;

    /// <summary>When the inference loop last finished a step (or was idle and waiting): what a watchdog checks.</summary>
    public DateTimeOffset LastProgress => new(Interlocked.Read(ref _lastProgressTicks), TimeSpan.Zero);

    // Written by the inference thread, read by the watchdog: a long, so a read is never torn.
    private long _lastProgressTicks = DateTimeOffset.UtcNow.UtcTicks;

    private void MarkProgress() => Interlocked.Exchange(ref _lastProgressTicks, DateTimeOffset.UtcNow.UtcTicks);

    /// <summary>Tokens produced by batched decode steps, and the time those steps took (prefills excluded).</summary>
    public (long Tokens, TimeSpan Time) DecodeTotals => (Interlocked.Read(ref _decodeTokens), TimeSpan.FromTicks(Interlocked.Read(ref _decodeTicks)));

    private long _decodeTokens;
    private long _decodeTicks;

    /// <summary>
    /// Queues a generation. Invalid requests throw <see cref="GenerationRequestException"/>, a
    /// full queue throws <see cref="SchedulerOverloadedException"/> and a stopped engine
    /// <see cref="EngineUnavailableException"/>, all before anything runs. Cancelling
    /// <paramref name="cancellation"/> frees the sequence's slot at the next step. An engine fault
    /// that touches the sequence ends the stream with <see cref="GenerationFaultException"/>.
    /// </summary>
    public IAsyncEnumerable<GenerationChunk> StreamAsync(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation = default) =>
        Enqueue(promptIds, settings, cancellation).Output.Reader.ReadAllAsync(CancellationToken.None);

    /// <summary>Runs a whole generation through the batch; refusals throw at once, as with <see cref="StreamAsync"/>.</summary>
    public Task<GenerationResult> GenerateAsync(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation = default) =>
        CollectAsync(Enqueue(promptIds, settings, cancellation));

    private static async Task<GenerationResult> CollectAsync(Request request)
    {
        var text = new System.Text.StringBuilder();
        var finish = FinishReason.Length;
        await foreach (var chunk in request.Output.Reader.ReadAllAsync(CancellationToken.None))
        {
            text.Append(chunk.Text);
            finish = chunk.FinishReason ?? finish;
        }
        return new GenerationResult(request.Sequence.Prompt, request.Sequence.Completion, text.ToString(), finish);
    }

    private Request Enqueue(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation)
    {
        if (Fault is { } fault)
            throw new EngineUnavailableException($"The engine has stopped: {fault}");
        int[] prompt = _engine.Prepare(promptIds, settings, out int maxTokens);
        // Prepare fits prompt + max_tokens into the model's context; the executor's rows must hold it too.
        if ((long)prompt.Length + maxTokens > _capacity)
            throw new GenerationRequestException($"The prompt ({prompt.Length} tokens) plus max_tokens ({maxTokens}) exceeds the {_capacity} positions a batch slot holds.", "max_tokens");
        var request = new Request(_engine.NewSequence(prompt, settings, maxTokens), cancellation);
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
            if (Fault is { } stopped)
                throw new EngineUnavailableException($"The engine has stopped: {stopped}");
            throw new SchedulerOverloadedException($"The server is at capacity: {_options.MaxQueue} requests are already waiting. Retry later.");
        }
        return request;
    }

    private void Loop()
    {
        var tokens = new int[_options.MaxBatchSize];
        var positions = new int[_options.MaxBatchSize];
        try
        {
            while (!_stopping.IsCancellationRequested && Fault is null)
            {
                if (_active == 0 && _prefilling is null && !WaitForWork())
                    break;
                PrefillWithinBudget();
                if (_active == 0)
                    continue;
                int count = _active;
                for (int slot = 0; slot < count; slot++)
                {
                    var sequence = _slots[slot]!.Sequence;
                    tokens[slot] = sequence.NextToken;
                    positions[slot] = sequence.Prompt.Length + sequence.Completion.Count - 1;
                }
                long started = Stopwatch.GetTimestamp();
                if (!TryStep(count, tokens, positions))
                    continue;
                if (count >= 4)
                    Parallel.For(0, count, Advance);
                else
                {
                    for (int slot = 0; slot < count; slot++)
                        Advance(slot);
                }
                Interlocked.Add(ref _decodeTicks, Stopwatch.GetElapsedTime(started).Ticks);
                Interlocked.Add(ref _decodeTokens, count);
                Compact();
                MarkProgress();
                _engine.Metrics?.BatchSize.Record(count);
            }
        }
        catch (Exception e)
        {
            // A fault outside the per-sequence and per-step handling (in the loop's own bookkeeping):
            // nothing is known to be consistent any more.
            Stop($"the inference loop failed: {e.Message}", GenerationStage.Step, e);
        }
    }

    /// <summary>One decode step. On a fault: fails the sequences it ran, rebuilds the executor, and returns false.</summary>
    private bool TryStep(int count, int[] tokens, int[] positions)
    {
        try
        {
            _executor.Decode(count, tokens, positions);
            _consecutiveStepFaults = 0;
            return true;
        }
        catch (Exception e)
        {
            // The step may have written any of the batch's rows: every sequence in it is lost.
            // Marked now, completed after the rebuild (or the stop), so that a client that sees its
            // fault also sees the scheduler's state that followed it.
            for (int slot = 0; slot < count; slot++)
                _slots[slot]!.Fail(new GenerationFaultException(GenerationStage.Step, e));
            if (++_consecutiveStepFaults >= MaxConsecutiveStepFaults)
            {
                Stop($"{_consecutiveStepFaults} decode steps in a row failed; the last: {e.Message}", GenerationStage.Step, e);
                return false;
            }
            Rebuild(e);
            Compact();
            return false;
        }
    }

    /// <summary>A new executor in place of one a step fault left in an unknown state.</summary>
    private void Rebuild(Exception cause)
    {
        try
        {
            _executorReleased = true;
            _executor.Dispose();
        }
        catch (Exception)
        {
            // Whatever it held is abandoned; the new executor starts from nothing.
        }
        try
        {
            _executor = _executorFactory(_options.MaxBatchSize);
            _executorReleased = false;
            // The prompt being prefilled was not in the failed step, but its rows went with the old executor.
            _prefilled = 0;
        }
        catch (Exception e)
        {
            Stop($"a decode step failed ({cause.Message}) and the batch buffers could not be rebuilt: {e.Message}", GenerationStage.Step, e);
            return;
        }
        Interlocked.Increment(ref _faultsSurvived);
        Faulted?.Invoke(GenerationStage.Step, cause, false);
    }

    /// <summary>Blocks until a request arrives; then waits up to max_wait_ms for others to fill the batch.</summary>
    private bool WaitForWork()
    {
        try
        {
            MarkProgress();
            if (!_queue.Reader.WaitToReadAsync(_stopping.Token).AsTask().GetAwaiter().GetResult())
                return false;
            var deadline = Stopwatch.StartNew();
            while (QueueDepth < _options.MaxBatchSize && deadline.ElapsedMilliseconds < _options.MaxWaitMs)
                Thread.Sleep(1);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Prefills up to PrefillChunkTokens prompt tokens: the rest of the prompt in progress, then
    /// queued requests in free slots. A prompt that is done joins the decoding batch; a prefill
    /// fault fails only that request.
    /// </summary>
    private void PrefillWithinBudget()
    {
        int budget = _options.PrefillChunkTokens;
        while (budget > 0 && !_stopping.IsCancellationRequested && (_prefilling is not null || StartPrefill()))
        {
            var request = _prefilling!;
            if (request.Cancellation.IsCancellationRequested)
            {
                request.Sequence.Cancel();
                EndPrefill();
                continue;
            }
            int[] prompt = request.Sequence.Prompt;
            int count = Math.Min(budget, prompt.Length - _prefilled);
            try
            {
                _executor.Prefill(_prefillSlot, prompt.AsSpan(_prefilled, count), _prefilled);
            }
            catch (Exception e)
            {
                // The slot is released and rewritten by the next prefill; nothing else was touched.
                request.Fail(new GenerationFaultException(GenerationStage.Prefill, e));
                EndPrefill();
                Interlocked.Increment(ref _faultsSurvived);
                Faulted?.Invoke(GenerationStage.Prefill, e, false);
                continue;
            }
            _prefilled += count;
            budget -= count;
            if (_prefilled < prompt.Length)
                continue;
            Retain(_prefillSlot, prompt);
            int slot = _prefillSlot;
            _slots[slot] = request;
            _prefilling = null;
            Volatile.Write(ref _active, _active + 1);
            Advance(slot);
        }
        Compact();
    }

    /// <summary>Takes the next live queued request into the free slot after the batch, starting after any kept prefix.</summary>
    private bool StartPrefill()
    {
        while (_active < _slots.Length && _queue.Reader.TryRead(out var request))
        {
            Interlocked.Decrement(ref _queued);
            if (request.Cancellation.IsCancellationRequested)
            {
                request.Sequence.Cancel();
                request.Complete();
                continue;
            }
            _prefilling = request;
            _prefillSlot = _active;
            _prefilled = 0;
            try
            {
                _prefilled = _executor.RestorePrefix(_prefillSlot, request.Sequence.Prompt);
            }
            catch (Exception)
            {
                // Reuse is an optimisation: on any trouble the prompt is computed from its start.
                _prefilled = 0;
            }
            Interlocked.Add(ref _prefixTokensReused, _prefilled);
            return true;
        }
        return false;
    }

    /// <summary>The prefilling request ends (cancelled or failed) before it joined the batch.</summary>
    private void EndPrefill()
    {
        _prefilling!.Complete();
        _prefilling = null;
        Release(_prefillSlot);
    }

    /// <summary>Offers the executor a slot's computed tokens for later prompts; a failure only loses the reuse.</summary>
    private void Retain(int slot, ReadOnlySpan<int> tokens)
    {
        try
        {
            _executor.RetainPrefix(slot, tokens);
        }
        catch (Exception)
        {
            // Nothing depends on a kept prefix.
        }
    }

    private void Release(int slot)
    {
        try
        {
            _executor.Release(slot);
        }
        catch (Exception)
        {
            // Memory not given back now is rewritten by the slot's next sequence.
        }
    }

    /// <summary>Samples a slot's next token from its logits row and emits its text; a fault fails that sequence alone.</summary>
    private void Advance(int slot)
    {
        var request = _slots[slot]!;
        if (request.Cancellation.IsCancellationRequested)
        {
            request.Sequence.Cancel();
            return;
        }
        try
        {
            string text = request.Sequence.Advance(_executor.Logits(slot));
            if (text.Length > 0)
                request.Output.Writer.TryWrite(new GenerationChunk(text) { Logprobs = request.Sequence.TakeLogprobs() });
            // The next step writes at prompt + completion - 1: a sequence must end before its row does.
            if (request.Sequence.FinishReason is null && request.Sequence.Prompt.Length + request.Sequence.Completion.Count > _capacity)
                throw new InvalidOperationException($"The sequence reached the {_capacity} positions of its slot without finishing.");
        }
        catch (Exception e)
        {
            request.Fail(new GenerationFaultException(GenerationStage.Sampling, e));
            Interlocked.Increment(ref _faultsSurvived);
            Faulted?.Invoke(GenerationStage.Sampling, e, false);
        }
    }

    /// <summary>
    /// Completes finished (or failed) sequences, keeping what they computed for later prompts, and
    /// moves the last active ones (and the prompt being prefilled) into the freed slots.
    /// </summary>
    private void Compact()
    {
        int slot = 0;
        while (slot < _active)
        {
            var request = _slots[slot]!;
            if (request.Sequence.FinishReason is null && request.Error is null)
            {
                slot++;
                continue;
            }
            if (request.Error is null)
                Retain(slot, FedTokens(request.Sequence));
            request.Complete();
            int last = _active - 1;
            if (slot != last)
            {
                var moved = _slots[last]!;
                _executor.Move(last, slot, moved.Sequence.Prompt.Length + moved.Sequence.Completion.Count);
                _slots[slot] = moved;
            }
            _slots[last] = null;
            Release(last);
            Volatile.Write(ref _active, last);
        }
        if (_prefilling is not null && _prefillSlot != _active)
        {
            _executor.Move(_prefillSlot, _active, _prefilled);
            Release(_prefillSlot);
            _prefillSlot = _active;
        }
    }

    /// <summary>The tokens whose cache rows a sequence wrote: its prompt and every sampled token but the last, which was never fed.</summary>
    private static int[] FedTokens(GenerationSequence sequence)
    {
        int fed = Math.Max(0, sequence.Completion.Count - 1);
        var tokens = new int[sequence.Prompt.Length + fed];
        sequence.Prompt.CopyTo(tokens, 0);
        sequence.Completion.CopyTo(0, tokens, sequence.Prompt.Length, fed);
        return tokens;
    }

    /// <summary>The scheduler cannot go on: every sequence and queued request gets the reason, and new ones are refused.</summary>
    private void Stop(string reason, GenerationStage stage, Exception cause)
    {
        if (Interlocked.CompareExchange(ref _fault, reason, null) is not null)
            return;
        _queue.Writer.TryComplete();
        var error = new GenerationFaultException(stage, new InvalidOperationException(reason, cause));
        for (int slot = 0; slot < _active; slot++)
        {
            _slots[slot]!.Fail(error);
            _slots[slot]!.Complete();
            _slots[slot] = null;
        }
        Volatile.Write(ref _active, 0);
        if (_prefilling is not null)
        {
            _prefilling.Fail(error);
            _prefilling.Complete();
            _prefilling = null;
        }
        while (_queue.Reader.TryRead(out var request))
        {
            Interlocked.Decrement(ref _queued);
            request.Fail(error);
            request.Complete();
        }
        Faulted?.Invoke(stage, cause, true);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _stopping.Cancel();
        _queue.Writer.TryComplete();
        _loop.Join();
        for (int slot = 0; slot < _active; slot++)
        {
            _slots[slot]!.Sequence.Cancel();
            _slots[slot]!.Complete();
        }
        _prefilling?.Sequence.Cancel();
        _prefilling?.Complete();
        while (_queue.Reader.TryRead(out var request))
        {
            request.Sequence.Cancel();
            request.Complete();
        }
        if (!_executorReleased)
            _executor.Dispose();
        _stopping.Dispose();
    }

    private sealed class Request(GenerationSequence sequence, CancellationToken cancellation)
    {
        public GenerationSequence Sequence { get; } = sequence;
        public CancellationToken Cancellation { get; } = cancellation;
        public Channel<GenerationChunk> Output { get; } = Channel.CreateUnbounded<GenerationChunk>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = true });

        /// <summary>The fault that ended the sequence, if one did.</summary>
        public Exception? Error { get; private set; }

        public void Fail(Exception error) => Error ??= error;

        /// <summary>Ends the stream: the last chunk, or the fault.</summary>
        public void Complete()
        {
            if (Error is not null)
            {
                Output.Writer.TryComplete(Error);
                return;
            }
            Output.Writer.TryWrite(Sequence.Finish());
            Output.Writer.TryComplete();
        }
    }
}
