using Edge.Runtime.Inference;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Inference;

/// <summary>The model's padded vocabulary rows (no token behind them) are never sampled.</summary>
[TestClass]
public sealed class PaddedVocabularyTests
{
    [TestMethod]
    [DataRow(0f)]
    [DataRow(1.5f)]
    public void APaddingRowWithTheHighestLogitIsNeverPicked(float temperature)
    {
        var tokenizer = ModelTokenizer.Load(RepositoryPaths.DefaultModel);
        int modelVocabulary = tokenizer.VocabularySize + 81; // as the default model's 128,896 rows over 128,815 tokens
        var sequence = new GenerationSequence(tokenizer, new HashSet<int>(), modelVocabulary, [1],
            new GenerationSettings { Temperature = temperature, Seed = 7, StopAtEos = false }, maxTokens: 50);
        for (int step = 0; step < 50 && sequence.FinishReason is null; step++)
        {
            var logits = new float[modelVocabulary];
            logits[^1] = 100f; // a padding row: before the fix, picked, then the detokenizer threw
            logits[42] = 5f;
            sequence.Advance(logits);
        }
        Assert.IsTrue(sequence.Completion.All(id => id < tokenizer.VocabularySize));
    }
}
