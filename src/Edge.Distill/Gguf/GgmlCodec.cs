using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Edge.Distill.Gguf;

/// <summary>
/// ggml's tensor encodings, written from the block layouts in ggml's ggml-common.h:
/// encodes float32 weights as F32, F16, BF16, Q8_0 or Q4_0 (ggml's reference rounding), and
/// decodes every type in <see cref="GgmlType"/> back to float32.
/// </summary>
internal static class GgmlCodec
{
    public static byte[] Encode(ReadOnlySpan<float> values, GgmlType type)
    {
        var (blockElements, blockBytes) = GgmlTypes.Block(type);
        if (values.Length % blockElements != 0)
            throw new ArgumentException($"{values.Length} values do not fill whole {type} blocks of {blockElements}.");
        var output = new byte[checked(values.Length / blockElements * blockBytes)];
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(output);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteHalfLittleEndian(output.AsSpan(2 * i), (Half)values[i]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(2 * i), ToBFloat16(values[i]));
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < values.Length / 32; b++)
                    EncodeQ8_0(values.Slice(b * 32, 32), output.AsSpan(b * 34, 34));
                break;
            case GgmlType.Q4_0:
                for (int b = 0; b < values.Length / 32; b++)
                    EncodeQ4_0(values.Slice(b * 32, 32), output.AsSpan(b * 18, 18));
                break;
            default:
                throw new ArgumentException($"encoding {type} is not supported; it is read only.");
        }
        return output;
    }

    public static float[] Decode(ReadOnlySpan<byte> data, GgmlType type, long elements)
    {
        var output = new float[elements];
        Decode(data, type, output);
        return output;
    }

    /// <summary>Decodes whole blocks into <paramref name="output"/>, which must hold exactly what the bytes encode.</summary>
    public static void Decode(ReadOnlySpan<byte> data, GgmlType type, Span<float> output)
    {
        var (blockElements, blockBytes) = GgmlTypes.Block(type);
        int blocks = output.Length / blockElements;
        if (output.Length % blockElements != 0 || data.Length != (long)blocks * blockBytes)
            throw new InvalidDataException($"{data.Length} bytes are not {output.Length} elements of {type}.");
        for (int b = 0; b < blocks; b++)
        {
            var block = data.Slice(b * blockBytes, blockBytes);
            var y = output.Slice(b * blockElements, blockElements);
            switch (type)
            {
                case GgmlType.F32: y[0] = BinaryPrimitives.ReadSingleLittleEndian(block); break;
                case GgmlType.F16: y[0] = (float)BinaryPrimitives.ReadHalfLittleEndian(block); break;
                case GgmlType.BF16: y[0] = FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(block)); break;
                case GgmlType.Q8_0: DecodeQ8_0(block, y); break;
                case GgmlType.Q4_0: DecodeQ4_0(block, y); break;
                case GgmlType.Q4_K: DecodeQ4_K(block, y); break;
                case GgmlType.Q6_K: DecodeQ6_K(block, y); break;
                default: throw new InvalidDataException($"decoding {type} is not supported.");
            }
        }
    }

    /// <summary>Round to nearest even, as PyTorch converts float32 to bfloat16; NaN stays NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    // Q8_0: d = max|x| / 127 stored as fp16, q = round(x / d).
    private static void EncodeQ8_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        foreach (float v in x)
            amax = Math.Max(amax, Math.Abs(v));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int i = 0; i < 32; i++)
            block[2 + i] = (byte)(sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
    }

    private static void DecodeQ8_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
        for (int i = 0; i < 32; i++)
            y[i] = (sbyte)block[2 + i] * d;
    }

    // Q4_0: d = (the value of largest magnitude) / -8, q = clamp(x / d + 8.5) in 0..15; element j in
    // the low nibble of byte j, element j + 16 in its high nibble.
    private static void EncodeQ4_0(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (Math.Abs(v) > amax)
            {
                amax = Math.Abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int j = 0; j < 16; j++)
        {
            int low = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
            int high = Math.Min(15, (int)(sbyte)(x[j + 16] * id + 8.5f));
            block[2 + j] = (byte)(low | (high << 4));
        }
    }

    private static void DecodeQ4_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((block[2 + j] & 0x0F) - 8) * d;
            y[j + 16] = ((block[2 + j] >> 4) - 8) * d;
        }
    }

    // Q4_K: super-block of 8 sub-blocks of 32; each sub-block has a 6-bit scale and min packed in
    // 12 bytes, applied as d * scale * q - dmin * min.
    private static void DecodeQ4_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
        float dmin = (float)BinaryPrimitives.ReadHalfLittleEndian(block[2..]);
        var scales = block.Slice(4, 12);
        var q = block.Slice(16, 128);
        int output = 0;
        for (int sub = 0, qOffset = 0; sub < 8; sub += 2, qOffset += 32)
        {
            var (scale1, min1) = ScaleAndMin(sub, scales);
            var (scale2, min2) = ScaleAndMin(sub + 1, scales);
            float d1 = d * scale1, m1 = dmin * min1, d2 = d * scale2, m2 = dmin * min2;
            for (int l = 0; l < 32; l++)
                y[output++] = d1 * (q[qOffset + l] & 0x0F) - m1;
            for (int l = 0; l < 32; l++)
                y[output++] = d2 * (q[qOffset + l] >> 4) - m2;
        }
    }

    private static (int Scale, int Min) ScaleAndMin(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    // Q6_K: 6-bit values (4 low bits in ql, 2 high bits in qh) minus 32, 16 int8 scales of 16 values each.
    private static void DecodeQ6_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        var ql = block[..128];
        var qh = block.Slice(128, 64);
        var sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(192, 16));
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block[208..]);
        for (int half = 0; half < 2; half++)
        {
            var l0 = ql.Slice(half * 64, 64);
            var h0 = qh.Slice(half * 32, 32);
            var s0 = sc.Slice(half * 8, 8);
            var y0 = y.Slice(half * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((l0[l] & 0x0F) | (((h0[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((l0[l + 32] & 0x0F) | (((h0[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((l0[l] >> 4) | (((h0[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((l0[l + 32] >> 4) | (((h0[l] >> 6) & 3) << 4)) - 32;
                y0[l] = d * s0[s] * q1;
                y0[l + 32] = d * s0[s + 2] * q2;
                y0[l + 64] = d * s0[s + 4] * q3;
                y0[l + 96] = d * s0[s + 6] * q4;
            }
        }
    }
}
