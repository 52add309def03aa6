using System.Diagnostics;
using System.Threading.Channels;
using Edge.Runtime.Inference;

namespace Edge.Runtime.Scheduling;

/// <summary>
/// Continuous batching: requests queue (bounded), join the running batch at the next step, and
/// leave it the moment they finish or are cancelled. One inference thread owns the model; each
/// decode step runs every active sequence together.
/// </summary>
public sealed class GenerationScheduler : IDisposable
{
    private readonly InferenceEngine _engine;
    private readonly SchedulerOptions _options;
    private readonly BatchedDecoder _decoder;
    private readonly Channel<Request> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _loop;
    private readonly Request?[] _slots;
    private int _active;
    private int _queued;

    public GenerationScheduler(InferenceEngine engine, SchedulerOptions? options = null)
    {
        _engine = engine;
        _options = options ?? new SchedulerOptions();
        _options.Validate();
        _decoder = new BatchedDecoder(engine.Session, _options.MaxBatchSize);
        _slots = new Request?[_options.MaxBatchSize];
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(_options.MaxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _loop = new Thread(Loop) { IsBackground = true, Name = "deepseek-edge inference" };
        _loop.Start();
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>Sequences in the running batch.</summary>
    public int ActiveSequences => Volatile.Read(ref _active);

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
    /// Queues a generation. Invalid requests throw <see cref="GenerationRequestException"/> and a
    /// full queue throws <see cref="SchedulerOverloadedException"/>, both before anything runs.
    /// Cancelling <paramref name="cancellation"/> frees the sequence's slot at the next step.
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
        int[] prompt = _engine.Prepare(promptIds, settings, out int maxTokens);
        var request = new Request(_engine.NewSequence(prompt, settings, maxTokens), cancellation);
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
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
            while (!_stopping.IsCancellationRequested)
            {
                if (_active == 0 && !WaitForWork())
                    break;
                Admit();
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
                _decoder.Step(count, tokens, positions);
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
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Fail(e);
        }
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

    /// <summary>Prefills queued requests into free slots.</summary>
    private void Admit()
    {
        while (_active < _slots.Length && _queue.Reader.TryRead(out var request))
        {
            Interlocked.Decrement(ref _queued);
            var sequence = request.Sequence;
            if (request.Cancellation.IsCancellationRequested)
            {
                sequence.Cancel();
                Complete(request);
                continue;
            }
            int slot = _active;
            _decoder.Prefill(slot, sequence.Prompt);
            _slots[slot] = request;
            Volatile.Write(ref _active, _active + 1);
            Advance(slot);
        }
        Compact();
    }

    /// <summary>Samples a slot's next token from its logits row and emits its text.</summary>
    private void Advance(int slot)
    {
        var request = _slots[slot]!;
        if (request.Cancellation.IsCancellationRequested)
        {
            request.Sequence.Cancel();
            return;
        }
        string text = request.Sequence.Advance(_decoder.Logits(slot));
        if (text.Length > 0)
            request.Output.Writer.TryWrite(new GenerationChunk(text));
    }

    /// <summary>Completes finished sequences and moves the last active ones into their slots.</summary>
    private void Compact()
    {
        int slot = 0;
        while (slot < _active)
        {
            var request = _slots[slot]!;
            if (request.Sequence.FinishReason is null)
            {
                slot++;
                continue;
            }
            Complete(request);
            int last = _active - 1;
            if (slot != last)
            {
                var moved = _slots[last]!;
                _decoder.Move(last, slot, moved.Sequence.Prompt.Length + moved.Sequence.Completion.Count);
                _slots[slot] = moved;
            }
            _slots[last] = null;
            Volatile.Write(ref _active, last);
        }
    }

    private static void Complete(Request request)
    {
        request.Output.Writer.TryWrite(request.Sequence.Finish());
        request.Output.Writer.TryComplete();
    }

    private void Fail(Exception error)
    {
        _queue.Writer.TryComplete(error);
        for (int slot = 0; slot < _active; slot++)
            _slots[slot]!.Output.Writer.TryComplete(error);
        while (_queue.Reader.TryRead(out var request))
            request.Output.Writer.TryComplete(error);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _queue.Writer.TryComplete();
        _loop.Join();
        for (int slot = 0; slot < _active; slot++)
        {
            _slots[slot]!.Sequence.Cancel();
            Complete(_slots[slot]!);
        }
        while (_queue.Reader.TryRead(out var request))
        {
            request.Sequence.Cancel();
            Complete(request);
        }
        _decoder.Dispose();
        _stopping.Dispose();
    }

    private sealed class Request(GenerationSequence sequence, CancellationToken cancellation)
    {
        public GenerationSequence Sequence { get; } = sequence;
        public CancellationToken Cancellation { get; } = cancellation;
        public Channel<GenerationChunk> Output { get; } = Channel.CreateUnbounded<GenerationChunk>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = true });
    }
}
