using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Scheduling;

/// <summary>
/// Long prompts are prefilled in chunks between decode steps, on the default model: the result
/// is the one whole prefill gives, and the sequences already decoding get a step after every chunk.
/// </summary>
[TestClass]
public sealed class ChunkedPrefillTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    /// <summary>A prompt of exactly <paramref name="tokens"/> tokens of plant-log text.</summary>
    internal static int[] LongPrompt(Edge.Runtime.Tokenization.ModelTokenizer tokenizer, int tokens, string topic = "pump")
    {
        var ids = new List<int>();
        for (int line = 0; ids.Count < tokens; line++)
            ids.AddRange(tokenizer.Encode($"Line {line}: the {topic} on station {line % 7} reads {line * 13 % 97} degrees and {line % 5} bar. ", addSpecialTokens: false));
        return [.. ids.Take(tokens)];
    }

    [TestMethod]
    public void ChunksFromAnyStartGiveTheLogitsOfOneWholePrefill()
    {
        int[] prompt = LongPrompt(Engine.Tokenizer, 300);
        using var decoder = new BatchedDecoder(Engine.Session, maxBatch: 3);
        decoder.Prefill(0, prompt, 0);
        foreach (var (slot, chunk) in new[] { (1, 7), (2, 128) })
        {
            for (int start = 0; start < prompt.Length; start += chunk)
                decoder.Prefill(slot, prompt.AsSpan(start, Math.Min(chunk, prompt.Length - start)), start);
        }
        float[] whole = decoder.Logits(0).ToArray();
        foreach (int slot in new[] { 1, 2 })
        {
            float[] chunked = decoder.Logits(slot).ToArray();
            Assert.AreEqual(Argmax(whole), Argmax(chunked), $"slot {slot}");
            Assert.IsLessThan(1e-4f, whole.Zip(chunked, (a, b) => Math.Abs(a - b)).Max(), $"slot {slot}");
        }
        // And the caches the chunks wrote decode the same next token as the whole prefill's.
        int next = Argmax(whole);
        decoder.Decode(3, [next, next, next], [prompt.Length, prompt.Length, prompt.Length]);
        float[] after = decoder.Logits(0).ToArray();
        foreach (int slot in new[] { 1, 2 })
            Assert.IsLessThan(1e-4f, after.Zip(decoder.Logits(slot).ToArray(), (a, b) => Math.Abs(a - b)).Max(), $"slot {slot} after a step");
    }

    [TestMethod]
    public void AChunkOutsideTheSlotIsRefusedBeforeItRuns()
    {
        using var decoder = new BatchedDecoder(Engine.Session, maxBatch: 1);
        int capacity = decoder.Capacity;
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Prefill(0, [5, 6], capacity - 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Prefill(0, [5], -1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Prefill(0, [], 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Prefill(0, [5], int.MaxValue));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Prefill(1, [5], 0));
        decoder.Prefill(0, [5], capacity - 1);
    }

    /// <summary>
    /// One stream decodes while a 700-token prompt arrives with 64-token chunks: the prompt is
    /// prefilled in contiguous chunks of at most 64, the running stream gets a decode step between
    /// every two of them, and both answers equal what each gives alone.
    /// </summary>
    [TestMethod]
    public async Task ALongPromptIsSpreadOverStepsAndTheRunningStreamKeepsDecoding()
    {
        int[] shortPrompt = Engine.Tokenizer.Encode("Robot arm status");
        int[] longPrompt = LongPrompt(Engine.Tokenizer, 700);
        var settings = new GenerationSettings { MaxTokens = 300, StopAtEos = false };
        var aloneShort = Engine.Generate(shortPrompt, settings).CompletionIds.ToList();
        var aloneLong = Engine.Generate(longPrompt, new GenerationSettings { MaxTokens = 8, StopAtEos = false }).CompletionIds.ToList();

        var log = new List<string>();
        using var scheduler = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 4, PrefillChunkTokens = 64, PrefixCacheBytes = 0 },
            n => new RecordingExecutor(GenerationScheduler.OnnxRuntimeExecutor(Engine, n), log));
        var running = scheduler.GenerateAsync(shortPrompt, settings);
        while (scheduler.ActiveSequences == 0)
            await Task.Delay(1);
        var arriving = scheduler.GenerateAsync(longPrompt, new GenerationSettings { MaxTokens = 8, StopAtEos = false });
        var results = await Task.WhenAll(running, arriving);

        CollectionAssert.AreEqual(aloneShort, results[0].CompletionIds.ToList());
        CollectionAssert.AreEqual(aloneLong, results[1].CompletionIds.ToList());
        string[] entries;
        lock (log)
            entries = [.. log];
        var chunks = entries.Select((e, i) => (e, i)).Where(x => x.e.StartsWith("prefill 1 ", StringComparison.Ordinal)).ToList();
        // At least ceil(700 / 64) chunks (the first may share its step's budget with another prompt),
        // each at most 64 tokens, each starting where the last ended, covering the whole prompt.
        Assert.IsGreaterThanOrEqualTo(11, chunks.Count, string.Join("\n", entries));
        int covered = 0;
        foreach (var (entry, _) in chunks)
        {
            int[] fields = [.. entry.Split(' ')[2..].Select(f => int.Parse(f, System.Globalization.CultureInfo.InvariantCulture))];
            Assert.AreEqual(covered, fields[0], entry);
            Assert.IsLessThanOrEqualTo(64, fields[1], entry);
            covered += fields[1];
        }
        Assert.AreEqual(700, covered);
        for (int c = 1; c < chunks.Count; c++)
        {
            var between = entries[(chunks[c - 1].i + 1)..chunks[c].i];
            Assert.IsTrue(between.Any(e => e == "decode 1"), $"no step of the running stream between chunks {c - 1} and {c}");
        }
    }

    private static int Argmax(float[] values) => Array.IndexOf(values, values.Max());

    /// <summary>Logs each prefill chunk ("prefill slot start count") and step ("decode count") of the real executor.</summary>
    internal sealed class RecordingExecutor(IBatchExecutor inner, List<string> log) : IBatchExecutor
    {
        public int MaxBatch => inner.MaxBatch;
        public int Capacity => inner.Capacity;

        public void Prefill(int slot, ReadOnlySpan<int> tokens, int start)
        {
            lock (log)
                log.Add($"prefill {slot} {start} {tokens.Length}");
            inner.Prefill(slot, tokens, start);
        }

        public void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
        {
            lock (log)
                log.Add($"decode {count}");
            inner.Decode(count, tokens, positions);
        }

        public Span<float> Logits(int slot) => inner.Logits(slot);
        public void Move(int source, int destination, int length) => inner.Move(source, destination, length);
        public void Release(int slot) => inner.Release(slot);
        public int RestorePrefix(int slot, ReadOnlySpan<int> prompt) => inner.RestorePrefix(slot, prompt);
        public void RetainPrefix(int slot, ReadOnlySpan<int> tokens) => inner.RetainPrefix(slot, tokens);
        public void Dispose() => inner.Dispose();
    }
}
