using System.Text.Json;
using Edge.Distill.Data;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>edge-distill data and vocab on the real Brown corpus and the real DeepSeek-V3 tokenizer.</summary>
[TestClass]
public sealed class DataTests
{
    [TestMethod]
    public void BrownTagsAreStrippedIntoOrdinaryText()
    {
        Assert.AreEqual("The jury said \"no evidence\" that any irregularities took place.",
            BrownText.Untag("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./."));
        Assert.AreEqual("Atlanta's recent primary, which (he said) mattered.", BrownText.Untag("Atlanta's/np$ recent/jj primary/nn ,/, which/wdt (/( he/pps said/vbd )/) mattered/vbd ./."));
    }

    [TestMethod]
    public void ShardsHoldEveryDocumentOnceSplitByContentAndVerified()
    {
        var shards = TokenShards.Open(TrainingFixture.Shards);
        var index = shards.Index;
        Assert.IsGreaterThan(1, index.Train.Count, "20,000 tokens per shard gives several shards");
        Assert.IsGreaterThan(0L, index.ValidationDocuments);
        Assert.IsGreaterThan(index.ValidationDocuments * 4, index.TrainDocuments);
        var tokenizer = ModelTokenizer.Load(TrainingFixture.Tokenizer);
        Assert.AreEqual(tokenizer.VocabularySize, index.VocabularySize);
        int[] all = [.. shards.ReadAll(index.Train).SelectMany(t => t)];
        Assert.AreEqual(index.TrainTokens, all.Length);
        Assert.AreEqual(index.TrainDocuments, all.Count(id => id == tokenizer.BosId));
        Assert.AreEqual(index.TrainDocuments, all.Count(id => id == tokenizer.EosId));
        Assert.IsTrue(all.All(id => id >= 0 && id < tokenizer.VocabularySize));
        // Decoded documents are plain English: the tags are gone.
        string text = tokenizer.Decode(all.Take(400), skipSpecialTokens: true);
        Assert.IsFalse(text.Contains("/nn", StringComparison.Ordinal), text);
    }

    [TestMethod]
    public void TheSameInputAndSeedGiveTheSameShardsAndAnotherSeedAnotherOrder()
    {
        string folder = Directory.CreateTempSubdirectory("edge-distill-data").FullName;
        string corpus = TrainingFixture.CorpusSample(Path.Combine(folder, "corpus"), 6);
        string Make(string name, string seed)
        {
            string output = Path.Combine(folder, name);
            Assert.AreEqual(0, DistillCli.Run("data", corpus, "--format", "BrownTagged", "--tokenizer", TrainingFixture.Tokenizer, "--out", output, "--seed", seed, "--shuffle-buffer", "50"));
            return output;
        }
        var a = TokenShards.Open(Make("a", "1")).Index;
        var b = TokenShards.Open(Make("b", "1")).Index;
        var c = TokenShards.Open(Make("c", "2")).Index;
        CollectionAssert.AreEqual(a.Train.Select(s => s.Sha256).ToList(), b.Train.Select(s => s.Sha256).ToList());
        CollectionAssert.AreNotEqual(a.Train.Select(s => s.Sha256).ToList(), c.Train.Select(s => s.Sha256).ToList());
        Assert.AreEqual(a.Validation.Single().Sha256, c.Validation.Single().Sha256, "the validation split depends on the text, not the seed");
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void ACorruptTruncatedOrMissingShardIsRefusedByName()
    {
        string folder = Directory.CreateTempSubdirectory("edge-distill-corrupt").FullName;
        void Copy()
        {
            foreach (string file in Directory.EnumerateFiles(TrainingFixture.Shards))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }
        Copy();
        byte[] bytes = File.ReadAllBytes(Path.Combine(folder, "train-00000.bin"));
        bytes[100] ^= 0x40;
        File.WriteAllBytes(Path.Combine(folder, "train-00000.bin"), bytes);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TokenShards.Open(folder)).Message, "Shard train-00000.bin is corrupt");

        Copy();
        File.WriteAllBytes(Path.Combine(folder, "train-00001.bin"), bytes[..^7]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TokenShards.Open(folder)).Message, "train-00001.bin is corrupt or truncated");

        Copy();
        File.Delete(Path.Combine(folder, "validation-00000.bin"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TokenShards.Open(folder)).Message, "validation-00000.bin listed in shards.json is missing");

        File.WriteAllText(Path.Combine(folder, "shards.json"), "{ not json");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TokenShards.Open(folder)).Message, "not a shard index");
        Assert.AreEqual(2, DistillCli.Run("train", "--student", TrainingFixture.Student, "--data", folder, "--out", Path.Combine(folder, "run"), "--steps", "2"));
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void BadDataArgumentsAreRefused()
    {
        string folder = Directory.CreateTempSubdirectory("edge-distill-bad-data").FullName;
        string corpus = TrainingFixture.CorpusSample(Path.Combine(folder, "corpus"), 2);
        Assert.AreEqual(2, DistillCli.Run("data", corpus, "--tokenizer", TrainingFixture.Tokenizer, "--out", Path.Combine(folder, "a"), "--validation-percent", "0"));
        Assert.AreEqual(2, DistillCli.Run("data", Path.Combine(folder, "nowhere"), "--tokenizer", TrainingFixture.Tokenizer, "--out", Path.Combine(folder, "b")));
        Assert.AreEqual(2, DistillCli.Run("data", corpus, "--tokenizer", TrainingFixture.Tokenizer, "--out", TrainingFixture.Shards), "an existing, non-empty output folder");
        Directory.CreateDirectory(Path.Combine(folder, "empty"));
        Assert.AreEqual(2, DistillCli.Run("data", Path.Combine(folder, "empty"), "--tokenizer", TrainingFixture.Tokenizer, "--out", Path.Combine(folder, "c")));
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void ATrimmedTokenizerEncodesLikeTheReferenceAndKeepsEveryStringEncodable()
    {
        string[] texts =
        [
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced no evidence.",
            "Conveyor 4 stopped at 13:05; check the belt tension (spec: 2.5 N/mm).",
            "Übermäßig naïve café — 東京の工場 🤖🔧 ∑x² ≥ 0",
            "<｜User｜>Why did line 3 stop?<｜Assistant｜>A jam.<｜end▁of▁sentence｜>",
            "   leading spaces, tabs\tand\nnew lines\r\n",
        ];
        var ours = ModelTokenizer.Load(TrainingFixture.Tokenizer);
        var full = ModelTokenizer.Load(RepositoryPaths.DeepSeekV3Tokenizer);
        using var reference = JsonDocument.Parse(NodeReference.Run("tokenize.mjs", JsonSerializer.Serialize(new { tokenizer = TrainingFixture.Tokenizer, texts })));
        var expected = reference.RootElement.EnumerateArray().ToList();
        for (int i = 0; i < texts.Length; i++)
        {
            int[] ids = ours.Encode(texts[i], addSpecialTokens: false);
            CollectionAssert.AreEqual(expected[i].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(), ids, texts[i]);
            Assert.AreEqual(texts[i], ours.Decode(ids), "every string survives the round trip");
            Assert.IsGreaterThanOrEqualTo(full.Encode(texts[i], addSpecialTokens: false).Length, ids.Length, "fewer merges, at least as many tokens");
        }
        Assert.AreEqual(2000 + 259 + 815, ours.VocabularySize);
        Assert.AreEqual(2, DistillCli.Run("vocab", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--merges", "0", "--out", Path.Combine(TrainingFixture.Work, "bad-vocab")));
    }
}
