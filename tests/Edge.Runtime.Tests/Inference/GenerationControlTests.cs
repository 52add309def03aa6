using Edge.Runtime.Inference;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Inference;

/// <summary>Sampling, seeds, penalties, stops and streaming on the default model.</summary>
[TestClass]
public sealed class GenerationControlTests
{
    private static InferenceEngine s_engine = null!;

    [ClassInitialize]
    public static void Load(TestContext _) => s_engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);

    [ClassCleanup]
    public static void Unload() => s_engine.Dispose();

    private static GenerationSettings Sampled(long seed) => new() { MaxTokens = 12, Temperature = 1.5f, TopP = 0.95f, Seed = seed, StopAtEos = false };

    [TestMethod]
    public void TheSameSeedGivesTheSameOutputAlsoUnderConcurrency()
    {
        var first = s_engine.Complete("Batch 17 passed inspection", Sampled(42)).CompletionIds.ToList();
        var parallel = Enumerable.Range(0, 6).AsParallel().WithDegreeOfParallelism(6)
            .Select(_ => s_engine.Complete("Batch 17 passed inspection", Sampled(42)).CompletionIds.ToList()).ToList();
        foreach (var run in parallel)
            CollectionAssert.AreEqual(first, run);
    }

    [TestMethod]
    public void DifferentSeedsExploreDifferentOutputs()
    {
        var outputs = Enumerable.Range(1, 5).Select(seed => string.Join(',', s_engine.Complete("Batch 17", Sampled(seed)).CompletionIds)).ToHashSet();
        Assert.IsGreaterThan(1, outputs.Count);
    }

    [TestMethod]
    public void TopKOfOneIsGreedy()
    {
        var greedy = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false });
        var topOne = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false, Temperature = 2f, TopK = 1, Seed = 3 });
        CollectionAssert.AreEqual(greedy.CompletionIds.ToList(), topOne.CompletionIds.ToList());
    }

    [TestMethod]
    public void TinyTopPIsGreedy()
    {
        var greedy = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false });
        var nucleus = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false, Temperature = 1f, TopP = 1e-6f, Seed = 9 });
        CollectionAssert.AreEqual(greedy.CompletionIds.ToList(), nucleus.CompletionIds.ToList());
    }

    [TestMethod]
    public void MinPOfOneIsGreedy()
    {
        var greedy = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false });
        var minP = s_engine.Complete("Operator note:", new GenerationSettings { MaxTokens = 10, StopAtEos = false, Temperature = 1f, MinP = 1f, Seed = 5 });
        CollectionAssert.AreEqual(greedy.CompletionIds.ToList(), minP.CompletionIds.ToList());
    }

    [TestMethod]
    public void PenaltiesStopARepeatingGreedyLoop()
    {
        // The random default model repeats tokens under greedy decoding; a strong frequency
        // penalty must make every token of a short completion distinct.
        var plain = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false });
        Assert.IsLessThan(plain.CompletionIds.Count, plain.CompletionIds.Distinct().Count(), "the test needs a completion that repeats");
        var penalised = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false, FrequencyPenalty = 2f, PresencePenalty = 2f });
        Assert.HasCount(12, penalised.CompletionIds.Distinct().ToList());
        var repetition = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false, RepetitionPenalty = 50f });
        Assert.HasCount(12, repetition.CompletionIds.Distinct().ToList());
    }

    [TestMethod]
    public void StopStringsAreMatchedAcrossTokensAndNotEmitted()
    {
        var full = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false });
        // A stop string made of the end of one token and the start of the next.
        string text = full.Text;
        var boundaries = new List<int>();
        int length = 0;
        var detokenizer = new Edge.Runtime.Tokenization.IncrementalDetokenizer(s_engine.Tokenizer);
        foreach (int id in full.CompletionIds)
        {
            length += detokenizer.Push(id).Length;
            boundaries.Add(length);
        }
        int boundary = boundaries.First(b => b >= 2 && b + 2 <= text.Length);
        string stop = text.Substring(boundary - 2, 4);
        int expectedEnd = text.IndexOf(stop, StringComparison.Ordinal);

        var stopped = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false, StopStrings = [stop] });
        Assert.AreEqual(FinishReason.Stop, stopped.FinishReason);
        Assert.AreEqual(text[..expectedEnd], stopped.Text);
    }

    [TestMethod]
    public void StopTokenIdsEndTheGenerationWithoutBeingEmitted()
    {
        var full = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false });
        int stopId = full.CompletionIds[3];
        int firstIndex = full.CompletionIds.ToList().IndexOf(stopId);
        var stopped = s_engine.Complete("The machine status is", new GenerationSettings { MaxTokens = 12, StopAtEos = false, StopTokenIds = [stopId] });
        Assert.AreEqual(FinishReason.Stop, stopped.FinishReason);
        CollectionAssert.AreEqual(full.CompletionIds.Take(firstIndex).ToList(), stopped.CompletionIds.ToList());
    }

    [TestMethod]
    public void StreamingDeltasAddUpToTheCompletionAndEndWithUsage()
    {
        var settings = new GenerationSettings { MaxTokens = 20, StopAtEos = false, Temperature = 1f, Seed = 11 };
        var whole = s_engine.Complete("你好，机器", settings);
        var chunks = s_engine.Stream(s_engine.Tokenizer.Encode("你好，机器"), settings).ToList();
        Assert.AreEqual(whole.Text, string.Concat(chunks.Select(c => c.Text)));
        Assert.IsTrue(chunks.Take(chunks.Count - 1).All(c => c.FinishReason is null && c.Usage is null));
        Assert.AreEqual(FinishReason.Length, chunks[^1].FinishReason);
        Assert.AreEqual(20, chunks[^1].Usage!.CompletionTokens);
        Assert.AreEqual(whole.PromptIds.Count, chunks[^1].Usage!.PromptTokens);
        foreach (var chunk in chunks)
            Assert.IsFalse(chunk.Text.Length > 0 && char.IsHighSurrogate(chunk.Text[^1]), "a chunk ends inside a character");
    }

    [TestMethod]
    public void ContextOverflowIsRefusedOrTruncatedAsAsked()
    {
        var prompt = Enumerable.Repeat(500, 1020).ToArray();
        var refuse = Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Generate(prompt, new GenerationSettings { MaxTokens = 10 }));
        Assert.AreEqual("max_tokens", refuse.Parameter);
        var shorterCompletion = s_engine.Generate(prompt, new GenerationSettings { MaxTokens = 10, StopAtEos = false, ContextOverflow = ContextOverflow.TruncateCompletion });
        Assert.HasCount(4, shorterCompletion.CompletionIds);
        var shorterPrompt = s_engine.Generate(prompt, new GenerationSettings { MaxTokens = 10, StopAtEos = false, ContextOverflow = ContextOverflow.TruncatePrompt });
        Assert.HasCount(1014, shorterPrompt.PromptIds);
        Assert.HasCount(10, shorterPrompt.CompletionIds);
    }

    [TestMethod]
    [DataRow("temperature")]
    [DataRow("top_p")]
    [DataRow("top_k")]
    [DataRow("min_p")]
    [DataRow("repetition_penalty")]
    [DataRow("presence_penalty")]
    [DataRow("frequency_penalty")]
    [DataRow("stop")]
    [DataRow("max_tokens")]
    public void RefusesSettingsOutOfRangeNamingTheParameter(string parameter)
    {
        var settings = parameter switch
        {
            "temperature" => new GenerationSettings { Temperature = -0.5f },
            "top_p" => new GenerationSettings { TopP = 0f },
            "top_k" => new GenerationSettings { TopK = -1 },
            "min_p" => new GenerationSettings { MinP = 1.5f },
            "repetition_penalty" => new GenerationSettings { RepetitionPenalty = 0f },
            "presence_penalty" => new GenerationSettings { PresencePenalty = 3f },
            "frequency_penalty" => new GenerationSettings { FrequencyPenalty = -2.5f },
            "stop" => new GenerationSettings { StopStrings = [""] },
            _ => new GenerationSettings { MaxTokens = -1 },
        };
        var error = Assert.ThrowsExactly<GenerationRequestException>(() => s_engine.Complete("x", settings));
        Assert.AreEqual(parameter, error.Parameter);
        StringAssert.Contains(error.Message, parameter);
    }
}
