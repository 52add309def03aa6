using System.Text;
using Edge.Runtime.Benchmarks;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Tokenization;

/// <summary>
/// The tokenizer's work stays linear in hostile input: no pre-token is longer than the cut, cuts
/// never split a character, the text survives a round trip, and a caller that leaves stops it.
/// (Parity with Hugging Face, long repetitive texts included, is TokenizerParityTests; speed is
/// measured by `deepseek-edge bench-tokenizer`, never asserted here.)
/// </summary>
[TestClass]
public sealed class TokenizerBoundsTests
{
    private static ModelTokenizer s_tokenizer = null!;

    [ClassInitialize]
    public static void Load(TestContext _) => s_tokenizer = ModelTokenizer.Load(RepositoryPaths.DefaultModel);

    private static SplitPreTokenizer PreTokenizer => s_tokenizer.PreTokenizer;

    [TestMethod]
    public void HostileRunsArePreTokenizedIntoShortWholeCharacterPiecesThatCoverTheText()
    {
        foreach (var (name, text) in TokenizerBenchmark.Inputs(64 * 1024).Append(("random", RandomText(new Random(5), 50_000))))
        {
            var pieces = PreTokenizer.PreTokenize(text).ToList();
            int cursor = 0;
            foreach (var (offset, length) in pieces)
            {
                Assert.IsLessThanOrEqualTo(SplitPreTokenizer.MaxPieceLength, length, name);
                Assert.IsGreaterThanOrEqualTo(cursor, offset, name);
                Assert.IsFalse(offset > 0 && char.IsLowSurrogate(text[offset]) && char.IsHighSurrogate(text[offset - 1]), $"{name}: a cut split a surrogate pair at {offset}");
                cursor = offset + length;
            }
        }
    }

    [TestMethod]
    public void HostileRunsSurviveARoundTrip()
    {
        foreach (var (name, text) in TokenizerBenchmark.Inputs(256 * 1024))
            Assert.AreEqual(text, s_tokenizer.Decode(s_tokenizer.Encode(text, addSpecialTokens: false)), name);
    }

    [TestMethod]
    public void ACancelledCallerStopsTheTokenizer()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => s_tokenizer.Encode(new string('a', 1 << 20), cancellation: cancelled.Token));
    }

    private static string RandomText(Random random, int length)
    {
        string[] alphabets = ["abcXYZ", "0123456789", "温度报警", " \t\n", "🔥😀", "!?.,'\"-"];
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            string alphabet = alphabets[random.Next(alphabets.Length)];
            int run = random.Next(4) == 0 ? random.Next(100, 2000) : random.Next(1, 8);
            var chars = System.Globalization.StringInfo.GetTextElementEnumerator(alphabet);
            var elements = new List<string>();
            while (chars.MoveNext())
                elements.Add((string)chars.Current);
            for (int i = 0; i < run; i++)
                text.Append(elements[random.Next(elements.Count)]);
        }
        return text.ToString();
    }
}
