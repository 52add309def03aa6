using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Runtime.Tests.Inference;

/// <summary>Log probabilities: from the distribution the sampler got, the same alone and batched, and consistent with the tokens chosen.</summary>
[TestClass]
public sealed class LogprobTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    [TestMethod]
    public void GreedyTokensAreTheirPositionsMostLikelyAndTheDistributionIsNormalised()
    {
        int[] prompt = Engine.Tokenizer.Encode("The press line reports");
        var result = Collect(Engine.Stream(prompt, new GenerationSettings { MaxTokens = 12, StopAtEos = false, TopLogprobs = 20 }));
        Assert.AreEqual(12, result.Count);
        foreach (var token in result)
        {
            Assert.AreEqual(20, token.Top.Count);
            Assert.AreEqual(token.Top[0].TokenId, token.TokenId, "greedy takes the most likely token");
            Assert.AreEqual(token.Top[0].Logprob, token.Logprob, 1e-6);
            for (int i = 1; i < token.Top.Count; i++)
                Assert.IsTrue(token.Top[i].Logprob <= token.Top[i - 1].Logprob);
            double mass = token.Top.Sum(t => Math.Exp(t.Logprob));
            Assert.IsTrue(mass is > 0 and <= 1.0001, $"the top 20 hold {mass} of the probability");
        }
    }

    /// <summary>logprobs without top_logprobs (OpenAI's usual request): each token's own logprob, an empty top list, the same logprob as with a top list.</summary>
    [TestMethod]
    public void LogprobsWithoutATopListCarryEachTokensOwn()
    {
        int[] prompt = Engine.Tokenizer.Encode("The press line reports");
        var bare = Collect(Engine.Stream(prompt, new GenerationSettings { MaxTokens = 6, StopAtEos = false, TopLogprobs = 0 }));
        var listed = Collect(Engine.Stream(prompt, new GenerationSettings { MaxTokens = 6, StopAtEos = false, TopLogprobs = 1 }));
        Assert.AreEqual(6, bare.Count);
        for (int i = 0; i < bare.Count; i++)
        {
            Assert.AreEqual(0, bare[i].Top.Count);
            Assert.AreEqual(listed[i].TokenId, bare[i].TokenId);
            Assert.AreEqual(listed[i].Logprob, bare[i].Logprob, 1e-6);
            Assert.IsTrue(bare[i].Logprob <= 0);
        }
    }

    /// <summary>Sampled hot with a seed: each chosen token's logprob is its entry's in the top list when it is there, and a batch gives the same numbers.</summary>
    [TestMethod]
    public async Task SampledLogprobsAreTheSameAloneAndBatched()
    {
        int[] prompt = Engine.Tokenizer.Encode("Oven 3 temperature");
        var settings = new GenerationSettings { MaxTokens = 10, Temperature = 1.3f, Seed = 11, StopAtEos = false, TopLogprobs = 5, RepetitionPenalty = 1.2f };
        var alone = Collect(Engine.Stream(prompt, settings));
        using var scheduler = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 4 });
        var others = Enumerable.Range(0, 3).Select(i => scheduler.GenerateAsync(Engine.Tokenizer.Encode($"Line {i} is"), new GenerationSettings { MaxTokens = 10 })).ToList();
        var batched = new List<TokenLogprob>();
        await foreach (var chunk in scheduler.StreamAsync(prompt, settings))
            batched.AddRange(chunk.Logprobs ?? []);
        await Task.WhenAll(others);
        Assert.AreEqual(alone.Count, batched.Count);
        for (int i = 0; i < alone.Count; i++)
        {
            Assert.AreEqual(alone[i].TokenId, batched[i].TokenId);
            Assert.AreEqual(alone[i].Logprob, batched[i].Logprob, 1e-4);
            Assert.IsTrue(alone[i].Logprob <= 0);
            foreach (var entry in alone[i].Top.Where(t => t.TokenId == alone[i].TokenId))
                Assert.AreEqual(entry.Logprob, alone[i].Logprob, 1e-6);
        }
    }

    [TestMethod]
    public void WithoutTheRequestNoLogprobsAreKept() =>
        Assert.IsTrue(Engine.Stream(Engine.Tokenizer.Encode("x"), new GenerationSettings { MaxTokens = 3 }).All(c => c.Logprobs is null));

    [TestMethod]
    [DataRow(-1)]
    [DataRow(21)]
    public void TopLogprobsOutOfRangeIsRefused(int top) =>
        Assert.AreEqual("top_logprobs", Assert.Throws<GenerationRequestException>(() =>
            Engine.Generate(Engine.Tokenizer.Encode("x"), new GenerationSettings { TopLogprobs = top })).Parameter);

    private static List<TokenLogprob> Collect(IEnumerable<GenerationChunk> chunks) => [.. chunks.SelectMany(c => c.Logprobs ?? [])];
}
