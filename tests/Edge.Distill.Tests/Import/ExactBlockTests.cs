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
