namespace Edge.Distill.Quantization;

/// <summary>How the range of each block is chosen.</summary>
internal enum RangeMethod
{
    /// <summary>The block's largest magnitude maps to the largest code: no value is clipped.</summary>
    MinMax,

    /// <summary>Clip each block at the scale that minimises its squared rounding error (searched over 20 shrink factors): outliers give way to resolution.</summary>
    Mse,
}

/// <summary>One weight matrix quantized in ONNX Runtime's MatMulNBits layout.</summary>
/// <param name="Packed">[N][blocks][block_size x bits / 8] bytes: the codes of output column n, block by block along K, low nibble first for 4 bits.</param>
/// <param name="Scales">[N x blocks]: value = (code - 2^(bits-1)) x scale (symmetric; the default zero point).</param>
internal sealed record QuantizedMatrix(int K, int N, int Bits, int BlockSize, byte[] Packed, float[] Scales)
{
    public int Blocks => (K + BlockSize - 1) / BlockSize;
    public int BlobBytes => BlockSize * Bits / 8;

    /// <summary>Weight (k, n) as the kernel will see it.</summary>
    public float Dequantize(int k, int n)
    {
        int block = k / BlockSize, inBlock = k % BlockSize;
        int offset = (n * Blocks + block) * BlobBytes;
        int code = Bits == 8 ? Packed[offset + inBlock] : (Packed[offset + inBlock / 2] >> (inBlock % 2 * 4)) & 0xF;
        return (code - (1 << (Bits - 1))) * Scales[n * Blocks + block];
    }
}

/// <summary>
/// Round-to-nearest, symmetric, block-wise quantization of a MatMul weight along its input
/// dimension K, per output column, into 8 or 4 bits.
/// </summary>
internal static class BlockQuantizer
{
    /// <param name="weights">The matrix as MatMul uses it, [K, N] row-major.</param>
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> weights, int k, int n, int bits, int blockSize, RangeMethod method) =>
        Quantize(weights, k, n, strideK: n, strideN: 1, bits, blockSize, method);

    /// <summary>A table whose rows are the output columns, [N, K] row-major (an embedding read as the tied LM head), without a transposed copy.</summary>
    public static QuantizedMatrix QuantizeRows(ReadOnlySpan<float> rows, int n, int k, int bits, int blockSize, RangeMethod method) =>
        Quantize(rows, k, n, strideK: 1, strideN: k, bits, blockSize, method);

    /// <summary>Weight (k, n) is weights[k x strideK + n x strideN].</summary>
    private static QuantizedMatrix Quantize(ReadOnlySpan<float> weights, int k, int n, int strideK, int strideN, int bits, int blockSize, RangeMethod method)
    {
        if (bits is not (4 or 8))
            throw new ArgumentException($"{bits}-bit quantization is not supported; 8 and 4 are.");
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentException($"The block size must be a power of two of at least 16, not {blockSize}.");
        int blocks = (k + blockSize - 1) / blockSize;
        int blob = blockSize * bits / 8;
        int maxCode = (1 << (bits - 1)) - 1; // 127 or 7: the symmetric range -max..max (the kernel's code 0 stays unused)
        int zero = 1 << (bits - 1);
        var packed = new byte[n * blocks * blob];
        var scales = new float[n * blocks];
        var values = new float[blockSize];
        for (int column = 0; column < n; column++)
        {
            for (int block = 0; block < blocks; block++)
            {
                int count = Math.Min(blockSize, k - block * blockSize);
                for (int i = 0; i < count; i++)
                    values[i] = weights[(block * blockSize + i) * strideK + column * strideN];
                float scale = Scale(values.AsSpan(0, count), maxCode, method);
                scales[column * blocks + block] = scale;
                int offset = (column * blocks + block) * blob;
                for (int i = 0; i < blockSize; i++)
                {
                    int code = zero + (i < count && scale > 0 ? (int)Math.Clamp(MathF.Round(values[i] / scale), -maxCode, maxCode) : 0);
                    if (bits == 8)
                        packed[offset + i] = (byte)code;
                    else
                        packed[offset + i / 2] |= (byte)(code << (i % 2 * 4));
                }
            }
        }
        return new QuantizedMatrix(k, n, bits, blockSize, packed, scales);
    }

    /// <summary>The block size GGUF's Q8_0 and Q4_0 use, and the only one <see cref="TryExact"/> looks at.</summary>
    public const int GgmlBlock = 32;

    /// <summary>
    /// The matrix in block-32 MatMulNBits form without any rounding, when every block of every column
    /// already lies on a grid that form holds: value = code x scale with code in -8..7 (4 bits, zero
    /// point 8: GGUF's Q4_0) or -128..127 (8 bits, zero point 128: GGUF's Q8_0). The scale is recovered
    /// from the block's largest magnitude, as ggml's quantizers place it, and every value is checked to
    /// come back bit for bit, so the result is exact by construction. Null when any block is off the grid.
    /// </summary>
    public static QuantizedMatrix? TryExact(ReadOnlySpan<float> weights, int k, int n, int bits) =>
        TryExact(weights, k, n, strideK: n, strideN: 1, bits);

    /// <summary><see cref="TryExact(ReadOnlySpan{float}, int, int, int)"/> of a matrix stored as its output rows, [N, K] (an expert as the MoE operator holds it).</summary>
    public static QuantizedMatrix? TryExactRows(ReadOnlySpan<float> rows, int n, int k, int bits) =>
        TryExact(rows, k, n, strideK: 1, strideN: k, bits);

    private static QuantizedMatrix? TryExact(ReadOnlySpan<float> weights, int k, int n, int strideK, int strideN, int bits)
    {
        if (bits is not (4 or 8) || k % GgmlBlock != 0)
            return null;
        int blocks = k / GgmlBlock, blob = GgmlBlock * bits / 8, zero = 1 << (bits - 1);
        // The code the extreme value can hold: Q4_0 puts it at -8 (with a signed scale), Q8_0 at +-127.
        // 8 bits also hold a Q4_0 block exactly (its codes and scale as they are): an embedding table
        // stored in Q4_0, which the quantizer keeps as INT8, is carried without a second rounding.
        ReadOnlySpan<int> extremeCodes = bits == 4 ? Q4Extremes : [127, -127, -128, .. Q4Extremes];
        var packed = new byte[n * blocks * blob];
        var scales = new float[n * blocks];
        Span<float> values = stackalloc float[GgmlBlock];
        Span<int> codes = stackalloc int[GgmlBlock];
        for (int column = 0; column < n; column++)
        {
            for (int block = 0; block < blocks; block++)
            {
                float extreme = 0;
                for (int i = 0; i < GgmlBlock; i++)
                {
                    values[i] = weights[(block * GgmlBlock + i) * strideK + column * strideN];
                    if (Math.Abs(values[i]) > Math.Abs(extreme))
                        extreme = values[i];
                }
                float scale = 0;
                codes.Clear();
                if (extreme != 0)
                {
                    bool found = false;
                    foreach (int code in extremeCodes)
                    {
                        float candidate = extreme / code;
                        if (OnGrid(values, candidate, -zero, zero - 1, codes))
                        {
                            (scale, found) = (candidate, true);
                            break;
                        }
                    }
                    if (!found)
                        return null;
                }
                scales[column * blocks + block] = scale;
                int offset = (column * blocks + block) * blob;
                for (int i = 0; i < GgmlBlock; i++)
                {
                    int code = zero + codes[i];
                    if (bits == 8)
                        packed[offset + i] = (byte)code;
                    else
                        packed[offset + i / 2] |= (byte)(code << (i % 2 * 4));
                }
            }
        }
        return new QuantizedMatrix(k, n, bits, GgmlBlock, packed, scales);
    }

    private static readonly int[] Q4Extremes = [-8, 7, -7, 6, -6, 5, -5, 4, -4, 3, -3, 2, -2, 1, -1];

    private static bool OnGrid(ReadOnlySpan<float> values, float scale, int lowest, int highest, Span<int> codes)
    {
        if (!float.IsFinite(scale) || scale == 0)
            return false;
        for (int i = 0; i < values.Length; i++)
        {
            float code = MathF.Round(values[i] / scale);
            if (code < lowest || code > highest || code * scale != values[i])
                return false;
            codes[i] = (int)code;
        }
        return true;
    }

    private static float Scale(ReadOnlySpan<float> values, int maxCode, RangeMethod method)
    {
        float absMax = 0;
        foreach (float v in values)
            absMax = Math.Max(absMax, Math.Abs(v));
        if (absMax == 0)
            return 0;
        float best = absMax / maxCode;
        if (method == RangeMethod.MinMax)
            return best;
        double bestError = Error(values, best, maxCode);
        for (int step = 1; step < 20; step++)
        {
            float candidate = absMax * (1 - step * 0.025f) / maxCode;
            double error = Error(values, candidate, maxCode);
            if (error < bestError)
                (best, bestError) = (candidate, error);
        }
        return best;
    }

    private static double Error(ReadOnlySpan<float> values, float scale, int maxCode)
    {
        double sum = 0;
        foreach (float v in values)
        {
            double q = Math.Clamp(Math.Round(v / scale), -maxCode, maxCode) * scale;
            sum += (v - q) * (v - q);
        }
        return sum;
    }
}
