using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Scheduling;

/// <summary>
/// The batch caches take RAM as positions are written and give it back when a slot is released,
/// as the kernel's page tables count it, not as the code believes it.
/// </summary>
[TestClass]
public sealed class CacheMemoryTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    [TestMethod]
    public void IdleSlotsCostNoMemoryAndAReleasedSlotGivesItsPagesBack()
    {
        using var decoder = new BatchedDecoder(Engine.Session, maxBatch: 32);
        long reserved = Engine.Session.Signature.State.Sum(t => t.CapacityShape(32, decoder.Capacity).Aggregate(1L, (a, b) => a * b)) * sizeof(float);
        Assert.AreEqual(0L, decoder.CacheMemory().Resident, $"32 idle slots of {reserved:N0} reserved bytes");

        int[] prompt = ChunkedPrefillTests.LongPrompt(Engine.Tokenizer, 600);
        decoder.Prefill(5, prompt, 0);
        long afterPrefill = decoder.CacheMemory().Resident;
        long written = reserved / 32 / decoder.Capacity * prompt.Length;
        // What the 600 positions take, give or take the partly written page at the end of each cache row.
        long pages = Engine.Session.Signature.State.Count * 2L * Environment.SystemPageSize;
        Assert.IsGreaterThanOrEqualTo(written, afterPrefill);
        Assert.IsLessThanOrEqualTo(written + pages, afterPrefill);

        decoder.Release(5);
        Assert.IsLessThanOrEqualTo(pages, decoder.CacheMemory().Resident, "at most the pages a row shares with its neighbours stay");
        // A released slot reads as zeros and serves a new sequence as if it were new.
        decoder.Prefill(5, prompt.AsSpan(0, 20), 0);
        float[] again = decoder.Logits(5).ToArray();
        decoder.Prefill(6, prompt.AsSpan(0, 20), 0);
        CollectionAssert.AreEqual(decoder.Logits(6).ToArray(), again);
    }
}
