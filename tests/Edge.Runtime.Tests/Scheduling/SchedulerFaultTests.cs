using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Scheduling;

/// <summary>
/// Faults at prefill, step and sampling, injected through the executor seam with no model run
/// (the engine is loaded for its tokenizer only): a fault fails the sequences it touched, the
/// scheduler goes on, and one it cannot recover from stops it with a reason.
/// </summary>
[TestClass]
public sealed class SchedulerFaultTests
{
    private static InferenceEngine s_engine = null!;
    private static readonly GenerationSettings TenTokens = new() { MaxTokens = 10, StopAtEos = false };

    [ClassInitialize]
    public static void Load(TestContext _) => s_engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);

    [ClassCleanup]
    public static void Unload() => s_engine.Dispose();

    private static int[] Prompt(int length) => [.. Enumerable.Range(0, length).Select(i => 10 + i % 50)];

    private static async Task<(GenerationResult? Result, Exception? Error)> RunAsync(GenerationScheduler scheduler, int[] prompt, GenerationSettings settings)
    {
        try
        {
            return (await scheduler.GenerateAsync(prompt, settings), null);
        }
        catch (Exception e)
        {
            return (null, e);
        }
    }

    [TestMethod]
    public async Task APrefillFaultFailsOnlyItsRequest()
    {
        var executors = new ExecutorFactory(s_engine) { PrefillFault = prompt => prompt[0] == 11 };
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 4 }, executors.Create);
        var results = await Task.WhenAll(RunAsync(scheduler, [11, 12, 13], TenTokens), RunAsync(scheduler, [20, 21], TenTokens));
        Assert.AreEqual(GenerationStage.Prefill, ((GenerationFaultException)results[0].Error!).Stage);
        Assert.HasCount(10, results[1].Result!.CompletionIds, "the other request finished");
        Assert.HasCount(10, (await scheduler.GenerateAsync([30, 31], TenTokens)).CompletionIds, "the scheduler serves on");
        Assert.IsNull(scheduler.Fault);
        Assert.AreEqual(1L, scheduler.FaultsSurvived);
        Assert.AreEqual(1, executors.Created, "a prefill fault needs no rebuild");
    }

    [TestMethod]
    public async Task AStepFaultFailsItsBatchRebuildsTheExecutorAndServesOn()
    {
        var executors = new ExecutorFactory(s_engine) { DecodeFault = call => call == 3 };
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 4, MaxWaitMs = 20 }, executors.Create);
        var results = await Task.WhenAll(RunAsync(scheduler, [11, 12], TenTokens), RunAsync(scheduler, [20, 21], TenTokens));
        foreach (var (_, error) in results)
            Assert.AreEqual(GenerationStage.Step, Assert.IsInstanceOfType<GenerationFaultException>(error).Stage);
        Assert.HasCount(10, (await scheduler.GenerateAsync([30, 31], TenTokens)).CompletionIds);
        Assert.AreEqual(2, executors.Created, "the executor was rebuilt");
        Assert.AreEqual(1, executors.Disposed, "the faulted executor was released");
        Assert.IsNull(scheduler.Fault);
    }

    [TestMethod]
    public async Task ASamplingFaultFailsOnlyThatSequence()
    {
        var executors = new ExecutorFactory(s_engine) { LogitsFault = (slot, call) => call == 5 };
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 4 }, executors.Create);
        var failed = await RunAsync(scheduler, [11, 12], TenTokens);
        Assert.AreEqual(GenerationStage.Sampling, ((GenerationFaultException)failed.Error!).Stage);
        Assert.HasCount(10, (await scheduler.GenerateAsync([30, 31], TenTokens)).CompletionIds);
        Assert.IsNull(scheduler.Fault);
    }

    [TestMethod]
    public async Task AnEngineThatCannotRecoverStopsSaysWhyAndRefusesNewWork()
    {
        var executors = new ExecutorFactory(s_engine) { DecodeFault = _ => true, CreateFault = created => created >= 2 };
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 2 }, executors.Create);
        var runs = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => RunAsync(scheduler, [11 + i, 12], TenTokens)));
        Assert.IsTrue(runs.All(r => r.Error is GenerationFaultException), "every request in flight or queued completes with the fault");
        Assert.IsNotNull(scheduler.Fault);
        StringAssert.Contains(scheduler.Fault, "could not be rebuilt");
        Assert.AreEqual(0, scheduler.QueueDepth, "nothing is left waiting forever");
        Assert.ThrowsExactly<EngineUnavailableException>(() => scheduler.StreamAsync([11], TenTokens));
        scheduler.Dispose();
        Assert.AreEqual(1, executors.Disposed, "the one executor made is released once, not again at dispose");
    }

    [TestMethod]
    public async Task StepsThatKeepFailingStopTheEngineAfterALimit()
    {
        var executors = new ExecutorFactory(s_engine) { DecodeFault = _ => true };
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 2 }, executors.Create);
        for (int i = 0; i < GenerationScheduler.MaxConsecutiveStepFaults; i++)
            Assert.IsInstanceOfType<GenerationFaultException>((await RunAsync(scheduler, [11, 12], TenTokens)).Error);
        Assert.IsNotNull(scheduler.Fault);
        StringAssert.Contains(scheduler.Fault, "in a row");
    }

    /// <summary>
    /// Random prompt lengths, max_tokens (up to int.MaxValue), slot rows shorter than the context,
    /// prefill chunk sizes and batch positions: a request is refused or runs to its end; the engine never faults.
    /// </summary>
    [TestMethod]
    public async Task NoRequestShapeFaultsTheEngine()
    {
        var random = new Random(14);
        for (int round = 0; round < 12; round++)
        {
            int capacity = random.Next(4, s_engine.ContextLength + 1);
            var executors = new ExecutorFactory(s_engine, capacity);
            // Chunks from 1 token up: prompts are spread over steps while other sequences decode.
            var options = new SchedulerOptions { MaxBatchSize = random.Next(1, 6), PrefillChunkTokens = random.Next(3) == 0 ? 256 : random.Next(1, 12) };
            using var scheduler = new GenerationScheduler(s_engine, options, executors.Create);
            var runs = Enumerable.Range(0, 8).Select(_ =>
            {
                int length = random.Next(4) switch { 0 => 1, 1 => capacity, 2 => random.Next(1, capacity + 2), _ => random.Next(1, 40) };
                int maxTokens = random.Next(5) switch { 0 => int.MaxValue - random.Next(100), 1 => capacity - length, 2 => random.Next(1, 30), 3 => int.MaxValue - length + 1, _ => 1 };
                var settings = new GenerationSettings { MaxTokens = maxTokens, StopAtEos = false, ContextOverflow = (ContextOverflow)random.Next(3) };
                return Task.Run(async () =>
                {
                    try
                    {
                        var result = await scheduler.GenerateAsync(Prompt(length), settings);
                        Assert.IsLessThanOrEqualTo(capacity, result.PromptIds.Count + result.CompletionIds.Count);
                    }
                    catch (GenerationRequestException)
                    {
                        // refused before it ran (too long, or max_tokens below 1): fine
                    }
                });
            });
            await Task.WhenAll(runs);
            Assert.IsNull(scheduler.Fault, $"round {round}");
            Assert.AreEqual(0L, scheduler.FaultsSurvived, $"round {round}: capacity {capacity}");
        }
    }

    /// <summary>Makes <see cref="FakeExecutor"/>s and counts them; the fault predicates are shared by every executor it makes.</summary>
    private sealed class ExecutorFactory(InferenceEngine engine, int? capacity = null)
    {
        public Func<int[], bool> PrefillFault { get; init; } = _ => false;
        public Func<int, bool> DecodeFault { get; init; } = _ => false;
        public Func<int, int, bool> LogitsFault { get; init; } = (_, _) => false;
        public Func<int, bool> CreateFault { get; init; } = _ => false;
        public int Created { get; private set; }
        public int Disposed;
        private int _decodes, _logitReads;

        public FakeExecutor Create(int maxBatch)
        {
            if (CreateFault(Created + 1))
                throw new InvalidOperationException("out of device memory (injected)");
            Created++;
            return new FakeExecutor(this, maxBatch, capacity ?? engine.ContextLength, engine.Tokenizer.VocabularySize);
        }

        public bool FailDecode() => DecodeFault(Interlocked.Increment(ref _decodes));
        public bool FailLogits(int slot) => LogitsFault(slot, Interlocked.Increment(ref _logitReads));
    }

    /// <summary>
    /// A model-free executor: each slot's logits point at (last token + 1), kept in token range,
    /// and every bound is checked as strictly as the real decoder's, so an out-of-range call is a fault.
    /// </summary>
    private sealed class FakeExecutor(ExecutorFactory factory, int maxBatch, int capacity, int vocabulary) : IBatchExecutor
    {
        private readonly float[] _logits = new float[maxBatch * vocabulary];
        private readonly int[] _lengths = new int[maxBatch];

        public int MaxBatch => maxBatch;
        public int Capacity => capacity;

        public void Prefill(int slot, ReadOnlySpan<int> tokens, int start)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, maxBatch);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(start + tokens.Length, capacity);
            // A chunk continues the slot's sequence exactly where the last one ended.
            if (start != (start == 0 ? 0 : _lengths[slot]))
                throw new InvalidOperationException($"slot {slot}: chunk at {start}, expected {_lengths[slot]}");
            if (factory.PrefillFault(tokens.ToArray()))
                throw new InvalidOperationException("prefill failed (injected)");
            _lengths[slot] = start + tokens.Length;
            Point(slot, tokens[^1]);
        }

        public void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, maxBatch);
            if (factory.FailDecode())
                throw new InvalidOperationException("step failed (injected)");
            for (int slot = 0; slot < count; slot++)
            {
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(positions[slot], capacity);
                if (positions[slot] != _lengths[slot])
                    throw new InvalidOperationException($"slot {slot}: position {positions[slot]}, expected {_lengths[slot]}");
                _lengths[slot]++;
                Point(slot, tokens[slot]);
            }
        }

        public Span<float> Logits(int slot)
        {
            if (factory.FailLogits(slot))
                throw new InvalidOperationException("logits unreadable (injected)");
            return _logits.AsSpan(slot * vocabulary, vocabulary);
        }

        public void Move(int source, int destination, int length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, capacity);
            _lengths[destination] = _lengths[source];
            _logits.AsSpan(source * vocabulary, vocabulary).CopyTo(_logits.AsSpan(destination * vocabulary, vocabulary));
        }

        private void Point(int slot, int token)
        {
            var row = _logits.AsSpan(slot * vocabulary, vocabulary);
            row.Clear();
            row[10 + (token + 1) % 50] = 1f;
        }

        public void Dispose() => Interlocked.Increment(ref factory.Disposed);
    }
}
