using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Scheduling;

/// <summary>Continuous batching on the default (shared-buffer) model.</summary>
[TestClass]
public sealed class GenerationSchedulerTests
{
    private static InferenceEngine s_engine = null!;

    private static readonly string[] Prompts =
    [
        "Hi", "The pump on line 3 is overheating", "温度报警", "Shift A report: all stations green except 7",
        "Robot arm", "Please summarise the maintenance log for conveyor 12 since Monday", "OK", "Valve 9 pressure 4.2 bar",
    ];

    [ClassInitialize]
    public static void Load(TestContext _) => s_engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);

    [ClassCleanup]
    public static void Unload() => s_engine.Dispose();

    [TestMethod]
    public async Task BatchedGreedyEqualsUnbatchedTokenForToken()
    {
        var settings = new GenerationSettings { MaxTokens = 20, StopAtEos = false };
        var alone = Prompts.Select(p => s_engine.Complete(p, settings).CompletionIds.ToList()).ToList();
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 8 });
        var batched = await Task.WhenAll(Prompts.Select(p => scheduler.GenerateAsync(s_engine.Tokenizer.Encode(p), settings)));
        for (int i = 0; i < Prompts.Length; i++)
            CollectionAssert.AreEqual(alone[i], batched[i].CompletionIds.ToList(), Prompts[i]);
    }

    [TestMethod]
    public async Task SeededSamplingIsTheSameInABatchAsAlone()
    {
        var settings = new GenerationSettings { MaxTokens = 16, StopAtEos = false, Temperature = 1.1f, TopP = 0.9f, Seed = 99 };
        var alone = s_engine.Complete(Prompts[3], settings).CompletionIds.ToList();
        using var scheduler = new GenerationScheduler(s_engine);
        var runs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => scheduler.GenerateAsync(s_engine.Tokenizer.Encode(Prompts[3]), settings)));
        foreach (var run in runs)
            CollectionAssert.AreEqual(alone, run.CompletionIds.ToList());
    }

    [TestMethod]
    public async Task ALateSequenceJoinsTheRunningBatchAndLeavesWithoutWaiting()
    {
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxWaitMs = 0 });
        var longOne = scheduler.GenerateAsync(s_engine.Tokenizer.Encode(Prompts[5]), new GenerationSettings { MaxTokens = 400, StopAtEos = false });
        while (scheduler.ActiveSequences == 0)
            await Task.Delay(1);
        var shortOne = await scheduler.GenerateAsync(s_engine.Tokenizer.Encode(Prompts[0]), new GenerationSettings { MaxTokens = 3, StopAtEos = false });
        Assert.HasCount(3, shortOne.CompletionIds);
        Assert.IsFalse(longOne.IsCompleted, "the short request finished while the long one was still running");
        Assert.HasCount(400, (await longOne).CompletionIds);
    }

    [TestMethod]
    public async Task CancellingFreesTheSlotAtOnce()
    {
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxWaitMs = 0 });
        using var cancel = new CancellationTokenSource();
        var chunks = new List<GenerationChunk>();
        await foreach (var chunk in scheduler.StreamAsync(s_engine.Tokenizer.Encode("Hello"), new GenerationSettings { MaxTokens = 900, StopAtEos = false }, cancel.Token))
        {
            chunks.Add(chunk);
            if (chunks.Count == 3)
                cancel.Cancel();
        }
        Assert.AreEqual(FinishReason.Cancelled, chunks[^1].FinishReason);
        Assert.IsLessThan(900, chunks[^1].Usage!.CompletionTokens);
        Assert.AreEqual(0, scheduler.ActiveSequences);
    }

    [TestMethod]
    public async Task AFullQueueRefusesWithOverloadedAndLosesNothingAccepted()
    {
        using var scheduler = new GenerationScheduler(s_engine, new SchedulerOptions { MaxBatchSize = 1, MaxQueue = 2, MaxWaitMs = 0 });
        var settings = new GenerationSettings { MaxTokens = 200, StopAtEos = false };
        var accepted = new List<Task<GenerationResult>>();
        int refused = 0;
        for (int i = 0; i < 8; i++)
        {
            try
            {
                accepted.Add(scheduler.GenerateAsync(s_engine.Tokenizer.Encode(Prompts[i]), settings));
            }
            catch (SchedulerOverloadedException e)
            {
                StringAssert.Contains(e.Message, "at capacity");
                refused++;
            }
        }
        Assert.IsGreaterThan(0, refused);
        foreach (var result in await Task.WhenAll(accepted))
            Assert.HasCount(200, result.CompletionIds);
    }

    [TestMethod]
    public void InvalidRequestsAreRefusedBeforeQueueing()
    {
        using var scheduler = new GenerationScheduler(s_engine);
        Assert.ThrowsExactly<GenerationRequestException>(() => scheduler.StreamAsync([], new GenerationSettings()));
        Assert.ThrowsExactly<GenerationRequestException>(() => scheduler.StreamAsync([1, 2], new GenerationSettings { TopP = 2 }));
        Assert.AreEqual(0, scheduler.QueueDepth);
    }
}
