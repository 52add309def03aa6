using System.Diagnostics;
using Edge.Distill.Data;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Distill.Evaluation;

/// <summary>One package's numbers on held-out text.</summary>
internal sealed record PackageScore(
    string Name, string Directory, string Quantization, long PackageBytes, long ModelBytes, long Parameters, long ActiveParameters,
    double Perplexity, long Tokens, double? TeacherAgreement, double? TeacherKl, double TimeToFirstTokenMs, double DecodeTokensPerSecond);

/// <summary>
/// Evaluates packages through ONNX Runtime (Edge.Runtime's session and engine): perplexity over
/// the first N validation windows, top-1 agreement and KL(teacher || package) against a teacher on
/// the same windows, sizes, parameter counts, and greedy decode speed and time to first token.
/// </summary>
internal sealed class PackageEvaluator(TokenShards data, int windowLength, int windows)
{
    private List<int[]>? _windows;

    public PackageScore Evaluate(string packageDirectory, string? teacherDirectory)
    {
        var package = ModelPackage.Open(packageDirectory);
        // The teacher runs window by window beside the package, so only one window of logits of each is held.
        using var teacherWindows = teacherDirectory is null ? null : Logits(teacherDirectory).GetEnumerator();
        int vocabulary = data.Index.VocabularySize;
        double nll = 0, kl = 0;
        long tokens = 0, agree = 0;
        int w = 0;
        foreach (var logits in Logits(packageDirectory))
        {
            var window = Windows()[w];
            var teacher = teacherWindows is not null && teacherWindows.MoveNext() ? teacherWindows.Current : null;
            int stride = logits.Length / windowLength;
            for (int t = 0; t < windowLength; t++)
            {
                var row = logits.AsSpan(t * stride, vocabulary);
                double logZ = LogSumExp(row);
                nll += logZ - row[window[t + 1]];
                tokens++;
                if (teacher is not null)
                {
                    var teacherRow = teacher.AsSpan(t * (teacher.Length / windowLength), vocabulary);
                    double teacherZ = LogSumExp(teacherRow);
                    agree += ArgMax(row) == ArgMax(teacherRow) ? 1 : 0;
                    for (int v = 0; v < vocabulary; v++)
                    {
                        double logP = teacherRow[v] - teacherZ;
                        kl += Math.Exp(logP) * (logP - (row[v] - logZ));
                    }
                }
            }
            w++;
        }
        var (ttft, decode) = Speed(packageDirectory);
        return new PackageScore(package.Manifest.Name + " " + package.Manifest.Version, packageDirectory, package.Manifest.Quantization ?? "none",
            package.Manifest.Files.Sum(f => f.Bytes), new FileInfo(package.DecoderPath).Length,
            package.Manifest.Architecture?.Parameters ?? 0, package.Manifest.Architecture?.ActiveParametersPerToken ?? 0,
            Math.Exp(nll / tokens), tokens, teacherWindows is null ? null : (double)agree / tokens, teacherWindows is null ? null : kl / tokens, ttft, decode);
    }

    private List<int[]> Windows()
    {
        if (_windows is not null)
            return _windows;
        _windows = [];
        foreach (var shard in data.Index.Validation)
        {
            var tokens = data.Read(shard);
            for (int start = 0; start + windowLength + 1 <= tokens.Length && _windows.Count < windows; start += windowLength + 1)
                _windows.Add(tokens[start..(start + windowLength + 1)]);
        }
        if (_windows.Count == 0)
            throw new InvalidDataException($"The validation shards hold no window of {windowLength + 1} tokens.");
        return _windows;
    }

    /// <summary>Each window's logits for every position, [length, vocabulary], one full pass per window.</summary>
    private IEnumerable<float[]> Logits(string packageDirectory)
    {
        var package = ModelPackage.Open(packageDirectory);
        using var options = new SessionOptions();
        using var session = ModelSession.Open(package, options);
        if (session.VocabularySize < data.Index.VocabularySize)
            throw new InvalidDataException($"{packageDirectory} has {session.VocabularySize} logits; the shards use {data.Index.VocabularySize} ids.");
        foreach (var window in Windows())
        {
            using var state = session.CreateState();
            yield return session.Step(state, window.AsSpan(0, windowLength), allLogits: true)!;
        }
    }

    /// <summary>Time to the first token of a 64-token prompt, and greedy decode tokens per second over 64 tokens (median of 3).</summary>
    private (double TtftMs, double TokensPerSecond) Speed(string packageDirectory)
    {
        using var engine = InferenceEngine.Load(packageDirectory);
        int[] prompt = Windows()[0][..Math.Min(64, windowLength)];
        var first = new List<double>();
        var rates = new List<double>();
        for (int run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            engine.Generate(prompt, new GenerationSettings { MaxTokens = 1, StopAtEos = false });
            first.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            var result = engine.Generate(prompt, new GenerationSettings { MaxTokens = 64, StopAtEos = false });
            rates.Add(result.CompletionIds.Count / clock.Elapsed.TotalSeconds);
        }
        return (first.Order().ElementAt(1), rates.Order().ElementAt(1));
    }

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row)
            max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in row)
            sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
                best = i;
        }
        return best;
    }
}
