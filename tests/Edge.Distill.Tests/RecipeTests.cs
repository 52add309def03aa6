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
        string output = Path.Combine(TrainingFixture.Work, "recipe");
        Assert.AreEqual(0, DistillCli.Run("recipe", "--out", output, "--scale", "toy", "--corpus", RepositoryPaths.BrownCorpus, "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer));
        string report = File.ReadAllText(Path.Combine(output, "REPORT.md"));
        foreach (string package in new[] { "teacher-package", "student-fp32", "student-int8", "student-int4", "baseline-fp32" })
            StringAssert.Contains(report, $"(`{package}`)");
        StringAssert.Contains(report, "## Quality bars");
        Assert.AreEqual(5, report.Split('\n').Count(line => line.StartsWith("- met", StringComparison.Ordinal) || line.StartsWith("- **missed**", StringComparison.Ordinal)));
        Assert.IsTrue(Directory.Exists(Path.Combine(output, "student-int8")) && File.Exists(Path.Combine(output, "student-int8", "manifest.json")));
    }
}
