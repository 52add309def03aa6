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
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> weights, int k, int n, int bits, int blockSize, RangeMethod method)
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
                    values[i] = weights[(block * blockSize + i) * n + column];
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
