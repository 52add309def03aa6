using Edge.Runtime.Constraints;
using Edge.Runtime.Sampling;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>
/// The vectorised mask and the greedy choice that reads without masking, against the plain
/// definitions (each disallowed logit set to -infinity bit by bit, then the first maximum), over
/// masks from empty to full, vocabulary sizes that end mid-word, and tied logits.
/// </summary>
[TestClass]
public sealed class LogitMaskTests
{
    [TestMethod]
    [DataRow(129_280, 0.0)]
    [DataRow(129_280, 0.0001)]
    [DataRow(129_280, 0.05)]
    [DataRow(129_280, 0.5)]
    [DataRow(129_280, 0.97)]
    [DataRow(129_280, 1.0)]
    [DataRow(9_090, 0.3)]
    [DataRow(61, 0.5)]
    public void MaskAndGreedyChoiceAgreeWithTheBitByBitDefinition(int vocabulary, double density)
    {
        var random = new Random(vocabulary ^ (int)(density * 1000));
        for (int trial = 0; trial < 20; trial++)
        {
            var allowed = new ulong[(vocabulary + 63) / 64];
            for (int id = 0; id < vocabulary; id++)
            {
                if (random.NextDouble() < density)
                    allowed[id >> 6] |= 1UL << (id & 63);
            }
            // Few distinct values, so that ties are common; the first of them must win.
            var logits = Enumerable.Range(0, vocabulary).Select(_ => (float)random.Next(0, 50)).ToArray();

            var expected = (float[])logits.Clone();
            bool anyExpected = false;
            for (int id = 0; id < vocabulary; id++)
            {
                if ((allowed[id >> 6] >> (id & 63) & 1) == 0)
                    expected[id] = float.NegativeInfinity;
                else
                    anyExpected = true;
            }
            int expectedChoice = anyExpected ? Greedy.ArgMax(expected) : -1;

            Assert.AreEqual(expectedChoice, LogitMask.ArgMaxAllowed(logits, allowed), $"trial {trial}");
            var masked = (float[])logits.Clone();
            Assert.AreEqual(anyExpected, LogitMask.Apply(masked, allowed));
            CollectionAssert.AreEqual(expected, masked);
        }
    }
}
