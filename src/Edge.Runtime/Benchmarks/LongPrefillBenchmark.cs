using System.Diagnostics;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Runtime.Benchmarks;

/// <summary>
/// What a long prompt arriving does to streams that are already decoding: their inter-token
/// latency while it is prefilled, with the prompt in chunks and (for comparison, in the same run)
/// in one piece, as before chunked prefill.
/// </summary>
public sealed record LongPrefillResult(
    int Streams, int PromptTokens, int ChunkTokens, double LongPromptTtftMs,
    double SteadyInterTokenP50Ms, double InterTokenP50Ms, double InterTokenP99Ms, double InterTokenMaxMs);

/// <summary>Measures <see cref="LongPrefillResult"/>s; a benchmark, not a test: nothing here asserts a timing.</summary>
public static class LongPrefillBenchmark
{
    /// <param name="chunks">Chunk sizes to compare; the prompt's own length means one piece.</param>
    public static IReadOnlyList<LongPrefillResult> Run(InferenceEngine engine, int streams, int promptTokens, IReadOnlyList<int> chunks, Action<string>? progress = null)
    {
        int[] streamPrompt = BenchmarkPrompt.Of(engine, 16);
        int[] longPrompt = BenchmarkPrompt.Of(engine, promptTokens);
        var results = new List<LongPrefillResult>();
        foreach (int chunk in chunks)
        {
            progress?.Invoke($"{promptTokens}-token prompt arriving while {streams} streams decode, prefill chunk {chunk}");
            results.Add(Measure(engine, streams, streamPrompt, longPrompt, chunk));
        }
        return results;
    }

    private static LongPrefillResult Measure(InferenceEngine engine, int streams, int[] streamPrompt, int[] longPrompt, int chunk)
    {
        // No prefix reuse: every run computes its prompts, whatever ran before.
        using var scheduler = new GenerationScheduler(engine, new SchedulerOptions { MaxBatchSize = streams + 1, PrefillChunkTokens = chunk, PrefixCacheBytes = 0 });
        using var stop = new CancellationTokenSource();
        // Streams run until stopped: as many tokens as their rows hold.
        var open = new GenerationSettings { MaxTokens = engine.ContextLength - streamPrompt.Length, StopAtEos = false };
        var arrivals = Enumerable.Range(0, streams).Select(_ => new List<long>()).ToArray();
        var running = arrivals.Select(times => Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in scheduler.StreamAsync(streamPrompt, open, stop.Token))
                {
                    lock (times)
                        times.Add(Stopwatch.GetTimestamp());
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToArray();
        // Steady state first: every stream decoding for a while.
        while (arrivals.Any(times => Count(times) < 24))
            Thread.Sleep(5);

        long submitted = Stopwatch.GetTimestamp();
        long firstToken = 0;
        foreach (var _ in scheduler.StreamAsync(longPrompt, new GenerationSettings { MaxTokens = 2, StopAtEos = false }).ToBlockingEnumerable())
        {
            if (firstToken == 0)
                firstToken = Stopwatch.GetTimestamp();
        }
        long finished = Stopwatch.GetTimestamp();
        stop.Cancel();
        Task.WaitAll(running);

        var steady = new List<double>();
        var during = new List<double>();
        foreach (var times in arrivals)
        {
            for (int i = 1; i < times.Count; i++)
            {
                double gap = Stopwatch.GetElapsedTime(times[i - 1], times[i]).TotalMilliseconds;
                if (times[i] < submitted && i > 8)
                    steady.Add(gap);
                else if (times[i] > submitted && times[i - 1] < finished)
                    during.Add(gap);
            }
        }
        return new LongPrefillResult(streams, longPrompt.Length, Math.Min(chunk, longPrompt.Length),
            Stopwatch.GetElapsedTime(submitted, firstToken).TotalMilliseconds,
            Percentile(steady, 0.5), Percentile(during, 0.5), Percentile(during, 0.99), during.DefaultIfEmpty(0).Max());
    }

    private static int Count(List<long> times)
    {
        lock (times)
            return times.Count;
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
            return 0;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
