using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Scheduling;

/// <summary>
/// Prompts that start like one computed before (a shared system prompt, the next turn of a
/// conversation) copy that prefix's cache rows instead of recomputing them, and answer exactly as
/// without the copy.
/// </summary>
[TestClass]
public sealed class PrefixReuseTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    private static int[] Ask(int[] system, string question) => [.. system, .. Engine.Tokenizer.Encode(question, addSpecialTokens: false)];

    [TestMethod]
    public async Task ASharedSystemPromptAndTheNextTurnAreNotRecomputedAndAnswerTheSame()
    {
        int[] system = ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 200, "press");
        var settings = new GenerationSettings { MaxTokens = 24, StopAtEos = false };
        using var reusing = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 2 });
        using var computing = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 2, PrefixCacheBytes = 0 });

        var first = await reusing.GenerateAsync(Ask(system, " Which press is hottest?"), settings);
        Assert.AreEqual(0L, reusing.PrefixTokensReused);
        int[] second = Ask(system, " Which station needs service?");
        var reused = await reusing.GenerateAsync(second, settings);
        Assert.IsGreaterThanOrEqualTo(200L, reusing.PrefixTokensReused);
        CollectionAssert.AreEqual((await computing.GenerateAsync(second, settings)).CompletionIds.ToList(), reused.CompletionIds.ToList());

        // The next turn of the first conversation: its prompt, its answer, a follow-up.
        int[] nextTurn = [.. first.PromptIds, .. first.CompletionIds, .. Engine.Tokenizer.Encode(" And after that?", addSpecialTokens: false)];
        long before = reusing.PrefixTokensReused;
        var followUp = await reusing.GenerateAsync(nextTurn, settings);
        Assert.AreEqual(first.PromptIds.Count + first.CompletionIds.Count - 1L, reusing.PrefixTokensReused - before, "all but the answer's last token, which was never fed");
        CollectionAssert.AreEqual((await computing.GenerateAsync(nextTurn, settings)).CompletionIds.ToList(), followUp.CompletionIds.ToList());
        Assert.AreEqual(0L, computing.PrefixTokensReused);
    }

    [TestMethod]
    public void APromptEqualToAKeptOneStillComputesItsLastToken()
    {
        int[] prompt = ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 40);
        using var decoder = new BatchedDecoder(Engine.Session, maxBatch: 2, prefixCacheBytes: 1 << 20);
        decoder.Prefill(0, prompt, 0);
        decoder.RetainPrefix(0, prompt);
        Assert.AreEqual(prompt.Length - 1, decoder.RestorePrefix(1, prompt));
        decoder.Prefill(1, prompt.AsSpan(prompt.Length - 1), prompt.Length - 1);
        float[] whole = decoder.Logits(0).ToArray(), restored = decoder.Logits(1).ToArray();
        Assert.IsLessThan(1e-5f, whole.Zip(restored, (a, b) => Math.Abs(a - b)).Max());
    }

    [TestMethod]
    public void TheBudgetEvictsTheLeastRecentlyUsedAndShortOrOversizedPrefixesAreNotKept()
    {
        long bytesPerToken = Engine.Session.Signature.State.Sum(t => t.CapacityShape(1, Engine.Session.Capacity).Aggregate(1L, (a, b) => a * b)) / Engine.Session.Capacity * sizeof(float);
        using var decoder = new BatchedDecoder(Engine.Session, maxBatch: 1, prefixCacheBytes: 100 * bytesPerToken);
        int[] pumps = ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 60, "pump");
        int[] valves = ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 60, "valve");
        int[] Extended(int[] p) => [.. p, 7, 8, 9];
        Keep(decoder, pumps);
        Assert.AreEqual(60, decoder.RestorePrefix(0, Extended(pumps)));
        Keep(decoder, valves);   // 120 tokens do not fit in 100: the pumps go
        Assert.AreEqual(0, decoder.RestorePrefix(0, Extended(pumps)));
        Assert.AreEqual(60, decoder.RestorePrefix(0, Extended(valves)));
        Assert.AreEqual(60 * bytesPerToken, decoder.CacheMemory().Prefixes);

        Keep(decoder, ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, PrefixCache.MinimumTokens - 1, "fan"));
        Keep(decoder, ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 101, "fan"));
        Assert.AreEqual(60 * bytesPerToken, decoder.CacheMemory().Prefixes, "too short and too large are both left out");
        // A prompt longer than the slot is refused by the prefill later; reuse does not touch it.
        Assert.AreEqual(0, decoder.RestorePrefix(0, new int[decoder.Capacity + 1]));
    }

    private static void Keep(BatchedDecoder decoder, int[] tokens)
    {
        decoder.Prefill(0, tokens, 0);
        decoder.RetainPrefix(0, tokens);
        decoder.Release(0);
    }
}
