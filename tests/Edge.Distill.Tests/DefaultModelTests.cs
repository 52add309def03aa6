using Edge.Distill.Export;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>The embedded default model is what its README's recipe makes, and still matches TorchSharp.</summary>
[TestClass]
public sealed class DefaultModelTests
{
    [TestMethod]
    public void DefaultModelIsTheTinyPresetWithSeed1AndVerifies()
    {
        string checkpoint = Directory.CreateTempSubdirectory("edge-default-ckpt").FullName;
        try
        {
            Assert.AreEqual(0, DistillCli.Run("init", "--arch", "deepseek_v3", "--preset", "tiny", "--seed", "1", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", checkpoint));
            var report = ExportVerifier.Run(checkpoint, RepositoryPaths.DefaultModel, "DeepSeek on the edge: verify the exported graph.", decodeSteps: 8);
            Assert.IsLessThanOrEqualTo(ExportVerifier.DefaultTolerance, report.MaxAbsDifference);
        }
        finally
        {
            Directory.Delete(checkpoint, recursive: true);
        }
    }

    [TestMethod]
    public void DefaultModelIsUnder20Megabytes()
    {
        long bytes = Directory.EnumerateFiles(RepositoryPaths.DefaultModel, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.IsLessThan(20_000_000L, bytes);
    }
}
