using Edge.Runtime.Inference;

namespace Edge.Runtime.Benchmarks;

/// <summary>Benchmark prompts of exactly the requested length, from real text so the tokens are ordinary.</summary>
internal static class BenchmarkPrompt
{
    private const string Text = "The conveyor on line three stopped at 14:32 after the pressure sensor reported 4.7 bar. ";

    public static int[] Of(InferenceEngine engine, int length)
    {
        var ids = new List<int>();
        while (ids.Count < length)
            ids.AddRange(engine.Tokenizer.Encode(Text, addSpecialTokens: false));
        return [.. ids.Take(length)];
    }
}
