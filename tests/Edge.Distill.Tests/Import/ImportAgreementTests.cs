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
}
