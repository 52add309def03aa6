using System.Globalization;

namespace Edge.Runtime.Constraints.Grammars;

/// <summary>
/// JSON numbers within bounds, as byte patterns over their decimal digits: a range of whole
/// numbers is split by digit count and then by leading digit (the classic regex construction), and
/// a number with a fraction is bounded through its whole part. Bounded numbers are written without
/// an exponent; bounds on a number (not an integer) must be whole numbers.
/// </summary>
public static class NumberRanges
{
    private static readonly Pattern Digit = Pattern.Bytes(ByteSet.Range((byte)'0', (byte)'9'));
    private static readonly Pattern Minus = Pattern.Literal("-");
    private static readonly Pattern AnyFraction = Pattern.Optional(Pattern.Concat(Pattern.Literal("."), new Repetition(Digit, 1, null)));
    private static readonly Pattern ZeroFraction = Pattern.Optional(Pattern.Concat(Pattern.Literal("."), new Repetition(Pattern.Literal("0"), 1, null)));
    private static readonly Pattern NonZeroFraction = Pattern.Concat(Pattern.Literal("."), Pattern.Any(Digit), Pattern.Bytes(ByteSet.Range((byte)'1', (byte)'9')), Pattern.Any(Digit));

    /// <summary>A JSON integer within the bounds (null: none); a fractional bound is rounded inwards.</summary>
    public static Pattern WholeNumber(decimal? minimum, decimal? exclusiveMinimum, decimal? maximum, decimal? exclusiveMaximum, string path)
    {
        long? low = Max(minimum is { } m ? (long)Math.Ceiling(m) : null, exclusiveMinimum is { } em ? (long)Math.Floor(em) + 1 : null);
        long? high = Min(maximum is { } x ? (long)Math.Floor(x) : null, exclusiveMaximum is { } ex ? (long)Math.Ceiling(ex) - 1 : null);
        if (low > high)
            throw new GrammarException($"No integer lies within the bounds at {path}.");
        var options = new List<Pattern>();
        if (high is null || high >= 0)
            options.Add(NonNegative(Math.Max(low ?? 0, 0), high));
        if (low is null || low < 0)
            options.Add(Pattern.Concat(Minus, NonNegative(high is { } h && h < 0 ? -h : 1, low is { } l ? -l : null)));
        return Pattern.Either([.. options]);
    }

    /// <summary>A JSON number within the bounds (null: none); unbounded, with fraction and exponent.</summary>
    public static Pattern Number(decimal? minimum, decimal? exclusiveMinimum, decimal? maximum, decimal? exclusiveMaximum, string path)
    {
        if (minimum is null && exclusiveMinimum is null && maximum is null && exclusiveMaximum is null)
        {
            var exponent = Pattern.Optional(Pattern.Concat(Pattern.Bytes(ByteSet.Of("eE"u8)), Pattern.Optional(Pattern.Bytes(ByteSet.Of("+-"u8))), new Repetition(Digit, 1, null)));
            return Pattern.Concat(Pattern.Optional(Minus), NonNegative(0, null), AnyFraction, exponent);
        }
        foreach (var bound in new[] { minimum, exclusiveMinimum, maximum, exclusiveMaximum })
        {
            if (bound is { } b && b != Math.Truncate(b))
                throw new GrammarException($"The bound {b.ToString(CultureInfo.InvariantCulture)} on a number (at {path}) is not a whole number; only whole-number bounds are enforced on numbers.");
        }
        // The tighter of each pair; on a tie the exclusive one.
        var (low, lowOpen) = Tighter(minimum, exclusiveMinimum, (a, b) => a > b);
        var (high, highOpen) = Tighter(maximum, exclusiveMaximum, (a, b) => a < b);
        if (low > high || (low == high && (lowOpen || highOpen)))
            throw new GrammarException($"No number lies within the bounds at {path}.");
        var options = new List<Pattern>();
        // Zero and above: the magnitude from max(low, 0).
        if (high is null || high > 0 || (high == 0 && !highOpen))
            options.Add(Magnitude(low is { } l && l >= 0 ? l : 0, low is { } l2 && l2 >= 0 && lowOpen, high, highOpen));
        // Below zero: the magnitude of a negative number, strictly above 0 unless the top bound is below zero.
        if (low is null || low < 0)
        {
            bool topBelowZero = high is { } h && h < 0;
            options.Add(Pattern.Concat(Minus, Magnitude(topBelowZero ? -high!.Value : 0, !topBelowZero || highOpen, low is { } l3 ? -l3 : null, lowOpen)));
        }
        return Pattern.Either([.. options]);
    }

    private static (long? Bound, bool Open) Tighter(decimal? inclusive, decimal? exclusive, Func<decimal, decimal, bool> tighter)
    {
        if (exclusive is { } e && (inclusive is null || tighter(e, inclusive.Value) || e == inclusive))
            return ((long)e, true);
        return (inclusive is { } i ? (long)i : null, false);
    }

    /// <summary>Non-negative decimals from <paramref name="low"/> to <paramref name="high"/> (whole bounds; null: none), no exponent.</summary>
    private static Pattern Magnitude(long low, bool lowOpen, long? high, bool highOpen)
    {
        var options = new List<Pattern>();
        // Whole part strictly inside: any fraction.
        long first = lowOpen ? low + 1 : low;
        long? last = high - 1;
        if (last is null || first <= last)
            options.Add(Pattern.Concat(NonNegative(first, last), AnyFraction));
        // Whole part at an open low bound: a fraction above zero (and, if it is also the high bound, that is closed... it cannot be).
        if (lowOpen && (high is null || low < high))
            options.Add(Pattern.Concat(NonNegative(low, low), NonZeroFraction));
        // Whole part at a closed high bound: only a zero fraction.
        if (high is { } h && !highOpen && (h > low || !lowOpen))
            options.Add(Pattern.Concat(NonNegative(h, h), ZeroFraction));
        if (options.Count == 0)
            throw new GrammarException("No number lies within the bounds.");
        return Pattern.Either([.. options]);
    }

    /// <summary>Whole numbers from <paramref name="low"/> (at least 0) to <paramref name="high"/> (null: no limit), in decimal without leading zeros.</summary>
    public static Pattern NonNegative(long low, long? high)
    {
        string lowText = low.ToString(CultureInfo.InvariantCulture);
        var options = new List<Pattern>();
        int lastLength = high is { } h ? h.ToString(CultureInfo.InvariantCulture).Length : lowText.Length;
        for (int length = lowText.Length; length <= lastLength; length++)
        {
            long from = length == lowText.Length ? low : Pow10(length - 1);
            long to = high is { } top && length == lastLength ? top : Pow10(length) - 1;
            if (from <= to)
                options.Add(SameLength(Text(from, length), Text(to, length)));
        }
        if (high is null) // every number with more digits
            options.Add(Pattern.Concat(Pattern.Bytes(ByteSet.Range((byte)'1', (byte)'9')), new Repetition(Digit, lastLength, null)));
        return Pattern.Either([.. options]);
    }

    private static string Text(long value, int length) => value.ToString(CultureInfo.InvariantCulture).PadLeft(length, '0');

    private static long Pow10(int power)
    {
        long value = 1;
        for (int i = 0; i < power; i++)
            value *= 10;
        return value;
    }

    /// <summary>Digit strings of one length from <paramref name="low"/> to <paramref name="high"/>.</summary>
    private static Pattern SameLength(string low, string high)
    {
        if (low == high)
            return Pattern.Literal(low);
        if (low.Length == 1)
            return Pattern.Bytes(ByteSet.Range((byte)low[0], (byte)high[0]));
        char a = low[0], b = high[0];
        string lowRest = low[1..], highRest = high[1..];
        if (a == b)
            return Pattern.Concat(Pattern.Literal(a.ToString()), SameLength(lowRest, highRest));
        if (lowRest.All(c => c == '0') && highRest.All(c => c == '9'))
            return Pattern.Concat(Pattern.Bytes(ByteSet.Range((byte)a, (byte)b)), new Repetition(Digit, lowRest.Length, lowRest.Length));
        var options = new List<Pattern>
        {
            Pattern.Concat(Pattern.Literal(a.ToString()), SameLength(lowRest, new string('9', lowRest.Length))),
        };
        if (b - a > 1)
            options.Add(Pattern.Concat(Pattern.Bytes(ByteSet.Range((byte)(a + 1), (byte)(b - 1))), new Repetition(Digit, lowRest.Length, lowRest.Length)));
        options.Add(Pattern.Concat(Pattern.Literal(b.ToString()), SameLength(new string('0', highRest.Length), highRest)));
        return Pattern.Either([.. options]);
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
