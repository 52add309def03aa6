using System.Diagnostics;
using Edge.Runtime.Tokenization;

namespace Edge.Runtime.Benchmarks;

/// <summary>One hostile input and how long the tokenizer took on it.</summary>
public sealed record TokenizerTiming(string Input, int Bytes, int Tokens, double Seconds);

/// <summary>
/// The tokenizer on inputs that make naive byte-pair encoding or regex pre-tokenization
/// superlinear: one long run of emoji, of CJK, of one letter, of spaces, and mixed text, each of
/// about the given size in UTF-8 bytes. The admission limit on prompt bytes assumes these stay fast.
/// </summary>
public static class TokenizerBenchmark
{
    public static IReadOnlyList<(string Name, string Text)> Inputs(int bytes) =>
    [
        ("emoji", Repeat("\U0001F600", bytes / 4)),
        ("cjk", Repeat("温度报警", bytes / 12)),
        ("one letter", new string('a', bytes)),
        ("spaces", new string(' ', bytes)),
        ("digits", new string('7', bytes)),
        ("mixed", Repeat("Pump 3: 温度 high 🔥 at 12:04, valve 'open'.  ", bytes / 56)),
    ];

    public static IReadOnlyList<TokenizerTiming> Run(ModelTokenizer tokenizer, int bytes)
    {
        tokenizer.Encode("warm up");
        var timings = new List<TokenizerTiming>();
        foreach (var (name, text) in Inputs(bytes))
        {
            var clock = Stopwatch.StartNew();
            int tokens = tokenizer.Encode(text).Length;
            timings.Add(new TokenizerTiming(name, System.Text.Encoding.UTF8.GetByteCount(text), tokens, clock.Elapsed.TotalSeconds));
        }
        return timings;
    }

    private static string Repeat(string unit, int count) => string.Concat(Enumerable.Repeat(unit, Math.Max(1, count)));
}
