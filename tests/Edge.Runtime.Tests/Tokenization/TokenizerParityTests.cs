using System.Text.Json;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Tokenization;

/// <summary>Our tokenizer against the Hugging Face reference (transformers.js under node) on the real DeepSeek-V3 files.</summary>
[TestClass]
public sealed class TokenizerParityTests
{
    private static ModelTokenizer Tokenizer => DeepSeekTokenizer.Instance;

    [TestMethod]
    public void EncodesLikeTheReferenceWithZeroMismatches()
    {
        var texts = TokenizerCorpus.All();
        Assert.IsGreaterThanOrEqualTo(200, texts.Count);
        var reference = RunReference(texts);

        var mismatches = new List<string>();
        for (int i = 0; i < texts.Count; i++)
        {
            int[] ours = Tokenizer.Encode(texts[i], addSpecialTokens: false);
            int[] theirs = reference[i].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (!ours.SequenceEqual(theirs))
                mismatches.Add($"{JsonSerializer.Serialize(texts[i])}: ours [{string.Join(',', ours)}] reference [{string.Join(',', theirs)}]");
        }
        Assert.IsEmpty(mismatches, $"{mismatches.Count} of {texts.Count} differ:\n" + string.Join('\n', mismatches.Take(20)));
    }

    [TestMethod]
    public void DecodeReturnsTheInputAndMatchesTheReference()
    {
        var texts = TokenizerCorpus.All();
        var reference = RunReference(texts);
        for (int i = 0; i < texts.Count; i++)
        {
            string decoded = Tokenizer.Decode(Tokenizer.Encode(texts[i], addSpecialTokens: false));
            Assert.AreEqual(texts[i], decoded, $"round trip of {JsonSerializer.Serialize(texts[i])}");
            Assert.AreEqual(reference[i].GetProperty("decoded").GetString(), decoded);
        }
    }

    [TestMethod]
    public void AddsTheBeginningOfSentenceTokenAsTokenizerConfigAsks()
    {
        Assert.IsTrue(Tokenizer.Config.AddBosToken);
        int[] ids = Tokenizer.Encode("Hello");
        Assert.AreEqual(Tokenizer.BosId, ids[0]);
        CollectionAssert.AreEqual(Tokenizer.Encode("Hello", addSpecialTokens: false), ids[1..]);
    }

    [TestMethod]
    public void SkipsSpecialTokensOnlyWhenAsked()
    {
        int[] ids = Tokenizer.Encode("<｜User｜>Hi<｜end▁of▁sentence｜>", addSpecialTokens: true);
        Assert.AreEqual("<｜begin▁of▁sentence｜><｜User｜>Hi<｜end▁of▁sentence｜>", Tokenizer.Decode(ids));
        // DeepSeek-V3 marks <｜User｜> as an added token that is not special: it stays.
        Assert.AreEqual("<｜User｜>Hi", Tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [TestMethod]
    public void RefusesIdsOutsideTheVocabulary()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Decode([Tokenizer.VocabularySize]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    private static List<JsonElement> RunReference(IReadOnlyList<string> texts)
    {
        string input = JsonSerializer.Serialize(new { tokenizer = RepositoryPaths.DeepSeekV3Tokenizer, texts });
        using var document = JsonDocument.Parse(NodeReference.Run("tokenize.mjs", input));
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }
}

/// <summary>The real DeepSeek-V3 tokenizer, loaded once for all tests.</summary>
internal static class DeepSeekTokenizer
{
    private static readonly Lazy<ModelTokenizer> Loaded = new(() => ModelTokenizer.Load(RepositoryPaths.DeepSeekV3Tokenizer));

    public static ModelTokenizer Instance => Loaded.Value;
}
