namespace Edge.Distill.Quantization;

/// <summary>
/// All routed experts of one projection in ONNX Runtime's QMoE layout: codes [E, N, K x bits / 8]
/// (each expert's output rows, blocks along K, low nibble first for 4 bits) and scales [E, N, K / block],
/// symmetric around QMoE's default zero point (8 or 128), which is MatMulNBits' layout per expert.
/// </summary>
internal sealed record QuantizedExperts(int Experts, int N, int K, int Bits, int BlockSize, byte[] Packed, float[] Scales);

/// <summary>Block-quantizes the stacked expert matrices a MoE node holds ([E, N, K] fp32) for QMoE.</summary>
internal static class ExpertQuantizer
{
    public static QuantizedExperts Quantize(ReadOnlySpan<float> stacked, int experts, int n, int k, int bits, int blockSize, RangeMethod method) =>
        Stack(stacked, experts, n, k, bits, blockSize, (rows) => BlockQuantizer.QuantizeRows(rows, n, k, bits, blockSize, method))!;

    /// <summary>Every expert carried bit for bit from a block-32 grid (GGUF Q4_0 / Q8_0), or null when any block is off it.</summary>
    public static QuantizedExperts? TryExact(ReadOnlySpan<float> stacked, int experts, int n, int k, int bits) =>
        Stack(stacked, experts, n, k, bits, BlockQuantizer.GgmlBlock, rows => BlockQuantizer.TryExactRows(rows, n, k, bits));

    /// <summary>
    /// The largest power of two from 16 up to <paramref name="preferred"/> that divides the hidden
    /// width (QMoE blocks both products alike; the inner width can be padded, the hidden cannot), or null.
    /// </summary>
    public static int? BlockFor(int preferred, int hidden)
    {
        for (int block = preferred; block >= 16; block /= 2)
            if (hidden % block == 0)
                return block;
        return null;
    }

    /// <summary>
    /// The experts widened from <paramref name="inner"/> to <paramref name="padded"/> intermediate units
    /// whose gate, up and down weights are all zero: SiLU(0) x 0 adds nothing, so the product is
    /// unchanged while the width becomes a whole number of blocks, as QMoE needs.
    /// </summary>
    /// <param name="gateUp">[E, 2 x inner, H], gate and up rows interleaved.</param>
    /// <param name="down">[E, H, inner].</param>
    public static (float[] GateUp, float[] Down) PadInner(ReadOnlySpan<float> gateUp, ReadOnlySpan<float> down, int experts, int hidden, int inner, int padded)
    {
        var wideGateUp = new float[(long)experts * 2 * padded * hidden];
        var wideDown = new float[(long)experts * hidden * padded];
        for (int e = 0; e < experts; e++)
        {
            gateUp.Slice(e * 2 * inner * hidden, 2 * inner * hidden).CopyTo(wideGateUp.AsSpan(e * 2 * padded * hidden));
            for (int row = 0; row < hidden; row++)
                down.Slice((e * hidden + row) * inner, inner).CopyTo(wideDown.AsSpan((e * hidden + row) * padded));
        }
        return (wideGateUp, wideDown);
    }

    private delegate QuantizedMatrix? QuantizeOne(ReadOnlySpan<float> rows);

    private static QuantizedExperts? Stack(ReadOnlySpan<float> stacked, int experts, int n, int k, int bits, int blockSize, QuantizeOne quantize)
    {
        if (k % blockSize != 0)
            throw new ArgumentException($"QMoE needs K ({k}) divisible by the block size ({blockSize}).");
        int codesPerExpert = n * k * bits / 8, scalesPerExpert = n * (k / blockSize);
        var packed = new byte[(long)experts * codesPerExpert];
        var scales = new float[(long)experts * scalesPerExpert];
        for (int e = 0; e < experts; e++)
        {
            if (quantize(stacked.Slice(e * n * k, n * k)) is not { } q)
                return null;
            q.Packed.CopyTo(packed.AsSpan(e * codesPerExpert));
            q.Scales.CopyTo(scales.AsSpan(e * scalesPerExpert));
        }
        return new QuantizedExperts(experts, n, k, bits, blockSize, packed, scales);
    }
}
