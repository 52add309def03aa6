using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// Each architecture import handles, in its published layout, through our import (ONNX Runtime)
/// and through our GGUF writer (llama.cpp): both must compute the same next-token distributions.
/// </summary>
[TestClass]
public sealed class ImportAgreementTests
{
    private static string s_work = null!;

    [ClassInitialize]
    public static void CreateWork(TestContext _) => s_work = Directory.CreateTempSubdirectory("edge-import-agreement").FullName;

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    [TestMethod]
    [DataRow("qwen2", "BF16", 1)]
    [DataRow("llama", "F16", 2)]
    [DataRow("deepseek_v3", "F8_E4M3", 3)]
    [DataRow("deepseek_v2", "BF16", 1)]
    [DataRow("deepseek_v2_all_groups", "BF16", 1)]
    public void ImportedModelAgreesWithLlamaCpp(string variant, string dtype, int shards)
    {
        string config = variant switch
        {
            "qwen2" => SyntheticCheckpoint.Qwen2Config,
            "llama" => SyntheticCheckpoint.LlamaConfig,
            "deepseek_v3" => SyntheticCheckpoint.DeepSeekV3Config,
            "deepseek_v2" => SyntheticCheckpoint.DeepSeekV2LiteConfig,
            // V2 (not Lite) with every group kept: q LoRA, softmax, scaling 16 and the group code
            // path, where llama.cpp's group rule and DeepSeek's cannot differ (see below).
            _ => SyntheticCheckpoint.DeepSeekV2Config.Replace("\"topk_group\": 2", "\"topk_group\": 4"),
        };
        string modelType = variant.StartsWith("deepseek_v2", StringComparison.Ordinal) ? "deepseek_v2" : variant;
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, variant), config, dtype, shards, seed: 5);
        string package = Path.Combine(s_work, variant + "-package"), gguf = Path.Combine(s_work, variant + ".gguf");
        Assert.AreEqual(0, DistillCli.Run("import", "--from", folder, "--out", package, "--context", "1024"));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));

        var manifest = ModelPackage.Open(package).Manifest;
        Assert.AreEqual(modelType, manifest.Architecture.ModelType);
        Assert.AreEqual("huggingface", manifest.Source!.Format);
        StringAssert.Contains(manifest.Source.Dtype, dtype);

        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 9, vocabulary: 120000));
        Console.WriteLine($"{variant} ({dtype}): top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.99, agreement.TopOneAgreement);
        Assert.IsLessThanOrEqualTo(1e-3, agreement.MaxLogProbDifference);
    }

    /// <summary>
    /// DeepSeek-V2's group_limited_greedy scores each expert group by its best expert
    /// (modeling_deepseek.py's MoEGate: <c>scores.view(n, n_group, -1).max(dim=-1)</c>), where V3's
    /// noaux_tc sums the top two. llama.cpp (node-llama-cpp v0.5.0's build, llama-graph.cpp
    /// build_moe_ffn) applies the top-two sum to every model with expert groups, V2 included, so
    /// with fewer groups kept than there are, llama.cpp routes V2 differently from DeepSeek's code.
    /// We follow DeepSeek's: the two engines must then disagree. Agreeing would mean the import
    /// scored V2's groups by V3's rule.
    /// </summary>
    [TestMethod]
    public void GroupLimitedGreedyFollowsDeepSeekWhereLlamaCppDoesNot()
    {
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "v2-groups"), SyntheticCheckpoint.DeepSeekV2Config, "BF16", shards: 1, seed: 5);
        string package = Path.Combine(s_work, "v2-groups-package"), gguf = Path.Combine(s_work, "v2-groups.gguf");
        Assert.AreEqual(0, DistillCli.Run("import", "--from", folder, "--out", package, "--context", "1024"));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));

        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 9, vocabulary: 120000));
        Console.WriteLine($"deepseek_v2 group_limited_greedy (2 of 4 groups): top-1 agreement with llama.cpp {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsLessThan(0.95, agreement.TopOneAgreement, "llama.cpp scores V2's groups by the top-two sum; agreeing with it means V3's rule was used");
    }

    /// <summary>
    /// R1-Distill-Qwen-1.5B ties its embedding and LM head at 1,536 wide; a table wider than
    /// MatMulNBits' largest block (256) once got a block of 2,048 that ONNX Runtime refuses. A tied
    /// 320-wide Qwen2 quantized on import must load and still agree with llama.cpp's fp32 run.
    /// </summary>
    /// <remarks>
    /// The table is INT8 in every scheme; int8 is used so that the rest of the model adds little noise
    /// (int4 on random weights flips top-1 on about half the positions, which would hide a broken table).
    /// </remarks>
    [TestMethod]
    public void ATiedTableWiderThanOneBlockQuantizes()
    {
        const string scheme = "int8";
        string config = SyntheticCheckpoint.Qwen2Config.Replace("\"hidden_size\": 64", "\"hidden_size\": 320").Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "tied-" + scheme), config, "BF16", shards: 1, seed: 6);
        string package = Path.Combine(s_work, "tied-package-" + scheme), gguf = Path.Combine(s_work, $"tied-{scheme}.gguf");
        Assert.AreEqual(0, DistillCli.Run("import", "--from", folder, "--out", package, "--context", "1024", "--quantize", scheme));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));

        StringAssert.Contains(ModelPackage.Open(package).Manifest.Quantization, "embedding table INT8 per row (per 256 of a wider row), shared with the tied LM head");
        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 10, vocabulary: 120000));
        Console.WriteLine($"tied 320-wide qwen2 {scheme} vs llama.cpp fp32: top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.9, agreement.TopOneAgreement);
    }
}
