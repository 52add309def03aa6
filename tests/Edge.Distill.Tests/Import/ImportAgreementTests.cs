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
    public void ImportedModelAgreesWithLlamaCpp(string modelType, string dtype, int shards)
    {
        string config = modelType switch
        {
            "qwen2" => SyntheticCheckpoint.Qwen2Config,
            "llama" => SyntheticCheckpoint.LlamaConfig,
            "deepseek_v3" => SyntheticCheckpoint.DeepSeekV3Config,
            _ => SyntheticCheckpoint.DeepSeekV2LiteConfig,
        };
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, modelType), config, dtype, shards, seed: 5);
        string package = Path.Combine(s_work, modelType + "-package"), gguf = Path.Combine(s_work, modelType + ".gguf");
        Assert.AreEqual(0, DistillCli.Run("import", "--from", folder, "--out", package, "--context", "1024"));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));

        var manifest = ModelPackage.Open(package).Manifest;
        Assert.AreEqual(modelType, manifest.Architecture.ModelType);
        Assert.AreEqual("huggingface", manifest.Source!.Format);
        StringAssert.Contains(manifest.Source.Dtype, dtype);

        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 9, vocabulary: 120000));
        Console.WriteLine($"{modelType} ({dtype}): top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.99, agreement.TopOneAgreement);
        Assert.IsLessThanOrEqualTo(1e-3, agreement.MaxLogProbDifference);
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
