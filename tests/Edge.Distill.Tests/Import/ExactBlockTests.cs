using Edge.Distill.Gguf;
using Edge.Distill.Quantization;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// GGUF Q4_0 and Q8_0 weights reach MatMulNBits bit for bit: ggml's own encoding (our codec writes
/// it as ggml's reference quantizer does), decoded to float, is recognised as block-32 grid and
/// rewritten without a rounding; anything off the grid is left to the ordinary quantizer.
/// </summary>
[TestClass]
public sealed class ExactBlockTests
{
    [TestMethod]
    [DataRow("Q4_0", 4)]
    [DataRow("Q8_0", 8)]
    public void GgmlBlocksAreCarriedBitForBit(string type, int bits)
    {
        const int k = 96, n = 24; // 3 blocks along K per column
        var random = new Random(3);
        // ggml stores a matrix row by row over K: row n is output column n of MatMul's [K, N].
        var rows = new float[n * k];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = (random.NextSingle() - 0.5f) * (i % 7 == 0 ? 3f : 0.2f);
        rows.AsSpan(5 * k, k).Clear(); // an all-zero column: scale 0
        var ggml = Enum.Parse<GgmlType>(type);
        var decoded = GgmlCodec.Decode(GgmlCodec.Encode(rows, ggml), ggml, rows.Length);

        var matMulLayout = new float[k * n];
        for (int column = 0; column < n; column++)
            for (int row = 0; row < k; row++)
                matMulLayout[row * n + column] = decoded[column * k + row];
        var q = BlockQuantizer.TryExact(matMulLayout, k, n, bits);

        Assert.IsNotNull(q, $"{type} blocks were not recognised");
        Assert.AreEqual(32, q.BlockSize);
        for (int column = 0; column < n; column++)
            for (int row = 0; row < k; row++)
                Assert.IsTrue(decoded[column * k + row] == q.Dequantize(row, column), $"weight ({row}, {column}): {decoded[column * k + row]:R} vs {q.Dequantize(row, column):R}"); // == : ggml's -0 is our 0
    }

    /// <summary>GGUF stacks experts as [E][N][K], which is QMoE's layout: each expert's blocks come back exactly, and one value off the grid spoils the stack.</summary>
    [TestMethod]
    [DataRow("Q4_0", 4)]
    [DataRow("Q8_0", 8)]
    public void StackedGgmlExpertsAreCarriedBitForBitInQMoELayout(string type, int bits)
    {
        const int experts = 3, n = 8, k = 64;
        var random = new Random(5);
        var rows = new float[experts * n * k];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = (random.NextSingle() - 0.5f) * (i % 5 == 0 ? 2f : 0.1f);
        var ggml = Enum.Parse<GgmlType>(type);
        var decoded = GgmlCodec.Decode(GgmlCodec.Encode(rows, ggml), ggml, rows.Length);

        var q = ExpertQuantizer.TryExact(decoded, experts, n, k, bits);
        Assert.IsNotNull(q, $"{type} experts were not recognised");
        Assert.AreEqual(32, q.BlockSize);
        Assert.HasCount(experts * n * k * bits / 8, q.Packed);
        Assert.HasCount(experts * n * (k / 32), q.Scales);
        int codes = n * k * bits / 8, scales = n * (k / 32);
        for (int e = 0; e < experts; e++)
        {
            var one = new QuantizedMatrix(k, n, bits, 32, q.Packed[(e * codes)..((e + 1) * codes)], q.Scales[(e * scales)..((e + 1) * scales)]);
            for (int row = 0; row < n; row++)
                for (int column = 0; column < k; column++)
                    Assert.IsTrue(decoded[(e * n + row) * k + column] == one.Dequantize(column, row), $"expert {e} ({row}, {column})");
        }
        decoded[^1] += 1e-3f;
        Assert.IsNull(ExpertQuantizer.TryExact(decoded, experts, n, k, bits), "the last expert's last value is off the grid");
    }

    /// <summary>Stacked experts round-to-nearest: each expert is exactly what quantizing it alone gives.</summary>
    [TestMethod]
    public void StackedExpertsQuantizeEachExpertOnItsOwn()
    {
        const int experts = 4, n = 6, k = 48;
        var random = new Random(6);
        var stacked = new float[experts * n * k];
        for (int i = 0; i < stacked.Length; i++)
            stacked[i] = random.NextSingle() - 0.5f;
        var q = ExpertQuantizer.Quantize(stacked, experts, n, k, 4, 16, RangeMethod.Mse);
        int codes = n * k * 4 / 8, scales = n * (k / 16);
        for (int e = 0; e < experts; e++)
        {
            var alone = BlockQuantizer.QuantizeRows(stacked.AsSpan(e * n * k, n * k), n, k, 4, 16, RangeMethod.Mse);
            CollectionAssert.AreEqual(alone.Packed, q.Packed[(e * codes)..((e + 1) * codes)], $"expert {e}");
            CollectionAssert.AreEqual(alone.Scales, q.Scales[(e * scales)..((e + 1) * scales)], $"expert {e}");
        }
        Assert.ThrowsExactly<ArgumentException>(() => ExpertQuantizer.Quantize(stacked, experts, n, k, 4, 32, RangeMethod.MinMax), "K = 48 is not whole blocks of 32");
    }

    /// <summary>Zero units padded into experts: gate, up and down of the new units are zero, the old ones unmoved.</summary>
    [TestMethod]
    public void PaddedExpertsKeepTheirWeightsAndAddOnlyZeroUnits()
    {
        const int experts = 2, hidden = 16, inner = 12, padded = 16;
        var gateUp = Enumerable.Range(1, experts * 2 * inner * hidden).Select(i => (float)i).ToArray();
        var down = Enumerable.Range(1, experts * hidden * inner).Select(i => (float)-i).ToArray();
        var (wideGateUp, wideDown) = ExpertQuantizer.PadInner(gateUp, down, experts, hidden, inner, padded);
        for (int e = 0; e < experts; e++)
        {
            for (int row = 0; row < 2 * padded; row++)
                for (int h = 0; h < hidden; h++)
                    Assert.AreEqual(row < 2 * inner ? gateUp[(e * 2 * inner + row) * hidden + h] : 0f, wideGateUp[(e * 2 * padded + row) * hidden + h]);
            for (int h = 0; h < hidden; h++)
                for (int i = 0; i < padded; i++)
                    Assert.AreEqual(i < inner ? down[(e * hidden + h) * inner + i] : 0f, wideDown[(e * hidden + h) * padded + i]);
        }
    }

    [TestMethod]
    [DataRow(4)]
    [DataRow(8)]
    public void WeightsOffTheGridAreNotClaimedExact(int bits)
    {
        var random = new Random(4);
        var weights = new float[64 * 8];
        for (int i = 0; i < weights.Length; i++)
            weights[i] = random.NextSingle() - 0.5f;
        Assert.IsNull(BlockQuantizer.TryExact(weights, 64, 8, bits));
        Assert.IsNull(BlockQuantizer.TryExact(new float[48 * 2], 48, 2, bits), "K that is not a whole number of 32-blocks");
    }

    [TestMethod]
    public void OneValueOffTheGridSpoilsTheMatrix()
    {
        var rows = new float[32];
        for (int i = 0; i < 32; i++)
            rows[i] = (i - 16) * 0.125f; // a grid of step 0.125 needs codes -16..15: too many for 4 bits
        Assert.IsNull(BlockQuantizer.TryExact(rows, 32, 1, 4), "codes -16..15 do not fit 4 bits");
        for (int i = 0; i < 32; i++)
            rows[i] = (i % 16 - 8) * 0.125f;
        Assert.IsNotNull(BlockQuantizer.TryExact(rows, 32, 1, 4));
        rows[7] += 1e-3f;
        Assert.IsNull(BlockQuantizer.TryExact(rows, 32, 1, 4));
    }
}
