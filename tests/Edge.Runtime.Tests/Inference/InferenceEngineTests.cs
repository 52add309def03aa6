using Edge.Runtime.Sampling;
using Edge.Runtime.Inference;
using Edge.TestSupport;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Tests.Inference;

/// <summary>The engine on the embedded default model, through real ONNX Runtime sessions.</summary>
[TestClass]
public sealed class InferenceEngineTests
{
    private static InferenceEngine s_engine = null!;

    [ClassInitialize]
    public static void Load(TestContext _) => s_engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);

    [ClassCleanup]
    public static void Unload() => s_engine.Dispose();

    [TestMethod]
    public void ReproducesTheManifestSmokeTest()
    {
        var smoke = s_engine.Package.Manifest.SmokeTest!;
        var result = s_engine.Complete(smoke.Prompt, new GenerationSettings { MaxTokens = smoke.ExpectedIds.Count, StopAtEos = false });
        CollectionAssert.AreEqual(smoke.ExpectedIds.ToList(), result.CompletionIds.ToList());
    }

    [TestMethod]
    public void GeneratesExactlyMaxTokensUnlessTheModelStops()
    {
        var result = s_engine.Complete("Hello", new GenerationSettings { MaxTokens = 16 });
        if (result.FinishReason == FinishReason.Length)
            Assert.HasCount(16, result.CompletionIds);
        else
            Assert.IsLessThan(16, result.CompletionIds.Count);
        Assert.AreEqual(s_engine.Tokenizer.Decode(result.CompletionIds, skipSpecialTokens: true), result.Text);
        CollectionAssert.AreEqual(s_engine.Tokenizer.Encode("Hello"), result.PromptIds.ToArray());
    }

    [TestMethod]
    public void DecodingThroughTheCacheEqualsRecomputingTheWholeSequence()
    {
        // The same greedy continuation two ways: stepping one token at a time through the
        // present -> past state, and re-running the full sequence from an empty state each time.
        int[] prompt = s_engine.Tokenizer.Encode("Line 2 reports a temperature alarm");
        using var options = new SessionOptions();
        using var session = ModelSession.Open(s_engine.Package, options);
        using var cached = session.CreateState();
        session.Step(cached, prompt);
        var sequence = prompt.ToList();
        for (int step = 0; step < 6; step++)
        {
            using var fresh = session.CreateState();
            session.Step(fresh, sequence.ToArray());
            for (int i = 0; i < session.VocabularySize; i++)
                Assert.AreEqual(fresh.LastLogits[i], cached.LastLogits[i], 1e-4f, $"step {step}, logit {i}");
            int next = Greedy.ArgMax(cached.LastLogits);
            sequence.Add(next);
            session.Step(cached, [next]);
        }
        Assert.AreEqual(sequence.Count, cached.Length);
    }

    [TestMethod]
    public void ADecodeStepAllocatesNoManagedMemory()
    {
        using var options = new SessionOptions();
        using var session = ModelSession.Open(s_engine.Package, options);
        using var state = session.CreateState();
        session.Step(state, s_engine.Tokenizer.Encode("Warm up the session"));
        ReadOnlySpan<int> token = [Greedy.ArgMax(state.LastLogits)];
        for (int i = 0; i < 3; i++)
            session.Step(state, token);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
            session.Step(state, token);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
        Assert.AreEqual(0L, perStep, $"{perStep} bytes allocated per decode step");
    }

    [TestMethod]
    public void StateTensorsArePairedByName()
    {
        using var options = new SessionOptions();
        using var session = ModelSession.Open(s_engine.Package, options);
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.DefaultModel, "config.json")));
        int layers = config.RootElement.GetProperty("num_hidden_layers").GetInt32();
        CollectionAssert.AreEquivalent(
            Enumerable.Range(0, layers).SelectMany(l => new[] { $"past_key_values.{l}.kv_latent", $"past_key_values.{l}.k_rope" }).ToList(),
            session.StateNames.ToList());
    }

    [TestMethod]
    public void ConcurrentGenerationsDoNotDisturbEachOther()
    {
        string[] prompts = ["Valve A", "Sensor 12 reads", "Shift report:", "Robot arm 3"];
        var alone = prompts.Select(p => s_engine.Complete(p, new GenerationSettings { MaxTokens = 8 }).CompletionIds.ToList()).ToList();
        var together = prompts.AsParallel().AsOrdered().WithDegreeOfParallelism(4)
            .Select(p => s_engine.Complete(p, new GenerationSettings { MaxTokens = 8 }).CompletionIds.ToList()).ToList();
        for (int i = 0; i < prompts.Length; i++)
            CollectionAssert.AreEqual(alone[i], together[i], prompts[i]);
    }

    [TestMethod]
    public void RefusesRequestsBeyondTheContextOrWithoutTokens()
    {
        var tooLong = Enumerable.Repeat(100, s_engine.ContextLength).ToArray();
        var error = Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Generate(tooLong, new GenerationSettings { MaxTokens = 1 }));
        StringAssert.Contains(error.Message, "context length of 1024");
        Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Generate([], new GenerationSettings()));
        Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Generate([1, 2], new GenerationSettings { MaxTokens = 0 }));
        Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Generate([s_engine.Tokenizer.VocabularySize + 1000], new GenerationSettings()));
    }

    [TestMethod]
    public void CancellationEndsTheGenerationWithReasonCancelled()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var result = s_engine.Complete("Hello", new GenerationSettings { MaxTokens = 8 }, cancelled.Token);
        Assert.AreEqual(FinishReason.Cancelled, result.FinishReason);
        Assert.IsEmpty(result.CompletionIds);
    }
}
