using Edge.Distill.Training;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>The default model's recipe at toy scale: every stage runs and the report says what it measured.</summary>
[TestClass]
public sealed class RecipeTests
{
    [TestMethod]
    [Timeout(10 * 60 * 1000, CooperativeCancellation = true)]
    public void TheToyRecipeRunsEveryStageAndWritesTheReport()
    {
        string output = Path.Combine(TrainingFixture.Work, "recipe"), shipped = Path.Combine(TrainingFixture.Work, "recipe-package");
        Assert.AreEqual(0, DistillCli.Run("recipe", "--out", output, "--scale", "toy", "--corpus", RepositoryPaths.BrownCorpus, "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--package", shipped));
        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        foreach (string folder in new[] { "teacher-package", "student-fp32", "student-int8", "student-int4", "baseline-fp32" })
            StringAssert.Contains(report, $"(`{folder}`)");
        StringAssert.Contains(report, "## Quality bars");
        Assert.AreEqual(5, report.Split('\n').Count(line => line.StartsWith("- met", StringComparison.Ordinal) || line.StartsWith("- **missed**", StringComparison.Ordinal)));
        Assert.IsTrue(Directory.Exists(Path.Combine(output, "student-int8")) && File.Exists(Path.Combine(output, "student-int8", "manifest.json")));

        foreach (string figure in new[] { "training-curves.png", "perplexity-vs-size.png" })
        {
            StringAssert.Contains(report, $"]({figure})");
            byte[] png = File.ReadAllBytes(Path.Combine(output, figure));
            CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4], figure);
            Assert.IsGreaterThan(5_000, png.Length, $"{figure} has something drawn in it");
        }

        // The shipped form: the INT8 student with its report and figures, all pinned by the manifest.
        var package = ModelPackage.Open(shipped);
        Assert.AreEqual("deepseek-edge", package.Manifest.Name);
        StringAssert.StartsWith(package.Manifest.Quantization, "weight-only INT8");
        var pinned = package.Manifest.Files.Select(f => f.Path).ToList();
        foreach (string file in new[] { "REPORT.md", "training-curves.png", "perplexity-vs-size.png", "model.onnx", "tokenizer.json" })
            CollectionAssert.Contains(pinned, file);
        PackageAssert.PassesItsSmokeTest(shipped);
    }

    [TestMethod]
    public void ACorruptTrainingLogIsNamedWithItsLine()
    {
        string run = Path.Combine(TrainingFixture.Work, "corrupt-log");
        Directory.CreateDirectory(Path.Combine(run, "training"));
        string log = Path.Combine(run, "training", "log.csv");
        File.WriteAllText(log, "step,loss\n1,2\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TrainingLog.Read(run)).Message, "not a training log");
        File.WriteAllText(log, TrainingLog.Header + "\n25,0.001,5.5,5.4,0,3,1,900\n50,0.001,five,5.4,0,3,1,900\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TrainingLog.Read(run)).Message, "log.csv:3: 'five' is not a number");
    }
}
