using System.Text.Json;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Edge.TestSupport;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Distill.Tests;

/// <summary>
/// The same weights through our ONNX export (ONNX Runtime) and through our GGUF export
/// (llama.cpp, from node-llama-cpp's prebuilt binaries): an implementation nobody here wrote
/// must compute the same next-token distributions.
/// </summary>
[TestClass]
public sealed class LlamaCppAgreementTests
{
    private const int Positions = 512;
    private const int Top = 20;
    private static string s_work = null!;

    [ClassInitialize]
    public static void CreateWork(TestContext _) => s_work = Directory.CreateTempSubdirectory("edge-llamacpp-tests").FullName;

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    [TestMethod]
    public void DeepSeekV3StudentAgreesWithLlamaCpp()
    {
        string checkpoint = Path.Combine(s_work, "v3"), package = Path.Combine(s_work, "v3-package"), gguf = Path.Combine(s_work, "v3.gguf");
        Assert.AreEqual(0, DistillCli.Run("init", "--arch", "deepseek_v3", "--preset", "tiny", "--seed", "11", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", checkpoint));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", checkpoint, "--out", package));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", checkpoint, "--out", gguf, "--format", "gguf"));

        var agreement = Compare(package, gguf, Tokens(seed: 3, vocabulary: 128000));
        Console.WriteLine($"deepseek_v3 tiny: top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2} over {Positions} positions");
        Assert.IsGreaterThanOrEqualTo(0.99, agreement.TopOneAgreement);
        Assert.IsLessThanOrEqualTo(1e-3, agreement.MaxLogProbDifference);
    }

    internal sealed record Agreement(double TopOneAgreement, double MaxLogProbDifference);

    /// <summary>Both engines on the same tokens: top-1 agreement, and the largest log-prob difference over llama.cpp's top tokens.</summary>
    internal static Agreement Compare(string package, string gguf, int[] tokens)
    {
        string request = JsonSerializer.Serialize(new { model = gguf, tokens, top = Top, threads = 2, contextSize = 1024 });
        using var reply = JsonDocument.Parse(NodeReference.Run(RepositoryPaths.LlamaTools, "logprobs.mjs", request));
        var positions = reply.RootElement.GetProperty("positions");
        Assert.AreEqual(tokens.Length, positions.GetArrayLength());

        using var options = new SessionOptions();
        using var session = ModelSession.Open(ModelPackage.Open(package), options);
        using var state = session.CreateState();
        float[] logits = session.Step(state, tokens, allLogits: true)!;
        int vocabulary = session.VocabularySize;

        int agreeing = 0;
        double maxDifference = 0;
        for (int p = 0; p < tokens.Length; p++)
        {
            var row = logits.AsSpan(p * vocabulary, vocabulary);
            double logSum = LogSumExp(row);
            var theirs = positions[p];
            if (theirs[0][0].GetInt32() == ArgMax(row))
                agreeing++;
            foreach (var pair in theirs.EnumerateArray())
            {
                double ours = row[pair[0].GetInt32()] - logSum;
                maxDifference = Math.Max(maxDifference, Math.Abs(ours - pair[1].GetDouble()));
            }
        }
        return new Agreement((double)agreeing / tokens.Length, maxDifference);
    }

    internal static int[] Tokens(int seed, int vocabulary)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, Positions).Select(_ => random.Next(2, vocabulary))];
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

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in row)
            max = Math.Max(max, v);
        foreach (float v in row)
            sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
