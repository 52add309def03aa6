using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Constraints;

/// <summary>
/// Applies a token mask (a bit per token) to a step's logits: every token whose bit is clear gets
/// -infinity. It runs once per constrained token over the whole vocabulary, so at 129k tokens it
/// must cost little next to a millisecond step: whole words of the mask are one fill (none allowed)
/// or skipped (all allowed), and mixed words go four logits at a time with a vector select
/// (SSE on x64, NEON on arm64), not bit by bit.
/// </summary>
public static class LogitMask
{
    // For each 4-bit piece of a mask word: which of four lanes are kept (all ones) or dropped (zero).
    private static readonly Vector128<float>[] KeepLanes =
        [.. Enumerable.Range(0, 16).Select(n => Vector128.Create(-(n & 1), -(n >> 1 & 1), -(n >> 2 & 1), -(n >> 3 & 1)).AsSingle())];

    /// <summary>Drops the tokens <paramref name="allowed"/> does not have; false when it has none of them.</summary>
    public static bool Apply(Span<float> logits, ReadOnlySpan<ulong> allowed)
    {
        bool any = false;
        var dropped = Vector128.Create(float.NegativeInfinity);
        for (int word = 0; word * 64 < logits.Length; word++)
        {
            ulong bits = allowed[word];
            var block = logits.Slice(word * 64, Math.Min(64, logits.Length - word * 64));
            if (bits == 0)
            {
                block.Fill(float.NegativeInfinity);
                continue;
            }
            any = true;
            if (bits == ulong.MaxValue)
                continue;
            if (block.Length < 64)
            {
                for (int i = 0; i < block.Length; i++)
                {
                    if ((bits >> i & 1) == 0)
                        block[i] = float.NegativeInfinity;
                }
                continue;
            }
            ref float start = ref MemoryMarshal.GetReference(block);
            for (int lane = 0; lane < 64; lane += 4)
            {
                var keep = KeepLanes[(int)(bits >> lane) & 15];
                var values = Vector128.LoadUnsafe(ref start, (nuint)lane);
                Vector128.ConditionalSelect(keep, values, dropped).StoreUnsafe(ref start, (nuint)lane);
            }
        }
        return any;
    }

    /// <summary>
    /// The index of the largest logit among the tokens <paramref name="allowed"/> has (the lowest on
    /// a tie), or -1 when it has none, reading only what it must: when the unmasked maximum is
    /// allowed (most steps inside a string) that is the answer; otherwise only allowed words are read.
    /// </summary>
    public static int ArgMaxAllowed(ReadOnlySpan<float> logits, ReadOnlySpan<ulong> allowed)
    {
        int count = 0;
        int words = (logits.Length + 63) / 64;
        foreach (ulong bits in allowed[..words])
            count += System.Numerics.BitOperations.PopCount(bits);
        if (count == 0)
            return -1;
        if (count * 8 > logits.Length)
        {
            int top = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
            if ((allowed[top >> 6] >> (top & 63) & 1) != 0)
                return top;
        }
        int best = -1;
        float bestLogit = float.NegativeInfinity;
        for (int word = 0; word < words; word++)
        {
            ulong bits = allowed[word];
            while (bits != 0)
            {
                int id = word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                if (id < logits.Length && (best < 0 || logits[id] > bestLogit))
                {
                    best = id;
                    bestLogit = logits[id];
                }
            }
        }
        return best;
    }
}
