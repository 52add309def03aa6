using Edge.Distill.Data;
using Edge.Distill.Evaluation;
using Edge.Distill.Modeling;
using Edge.Distill.Recipes;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>
/// The embedded default model is what the recipe ships: the INT8 edge student with its report,
/// and trained (far better on English than the same architecture untrained). CI does not rerun
/// the full recipe (about an hour); the toy recipe test covers the pipeline itself.
/// </summary>
[TestClass]
public sealed class DefaultModelTests
{
    [TestMethod]
    public void DefaultModelIsTheRecipesInt8EdgeStudentWithItsReport()
    {
        var package = ModelPackage.Open(RepositoryPaths.DefaultModel);
        Assert.AreEqual(DefaultModelRecipe.ModelName, package.Manifest.Name);
        StringAssert.StartsWith(package.Manifest.Quantization, "weight-only INT8");
        var config = DeepSeekV3Config.Load(Path.Combine(RepositoryPaths.DefaultModel, DeepSeekV3Config.FileName));
        var preset = DeepSeekV3Config.Preset("edge", config.VocabSize, config.BosTokenId, config.EosTokenId);
        Assert.AreEqual((preset.HiddenSize, preset.NumHiddenLayers, preset.NRoutedExperts, preset.MoeIntermediateSize, preset.KvLoraRank, preset.QLoraRank),
            (config.HiddenSize, config.NumHiddenLayers, config.NRoutedExperts, config.MoeIntermediateSize, config.KvLoraRank, config.QLoraRank), "config.json is the edge preset");

        var pinned = package.Manifest.Files.Select(f => f.Path).ToList();
        foreach (string file in new[] { DefaultModelRecipe.ReportFile, "training-curves.png", "perplexity-vs-size.png" })
            CollectionAssert.Contains(pinned, file, "the report and its figures ship with the model, pinned");
        string report = File.ReadAllText(Path.Combine(RepositoryPaths.DefaultModel, DefaultModelRecipe.ReportFile));
        StringAssert.StartsWith(report, "# Default model recipe: full scale, seed 1");
        Assert.AreEqual(5, report.Split('\n').Count(line => line.StartsWith("- met", StringComparison.Ordinal) || line.StartsWith("- **missed**", StringComparison.Ordinal)));
    }

    [TestMethod]
    [Timeout(5 * 60 * 1000, CooperativeCancellation = true)]
    public void DefaultModelIsTrainedOnEnglish()
    {
        string work = Directory.CreateTempSubdirectory("edge-default-trained").FullName;
        try
        {
            string shards = Path.Combine(work, "shards"), untrained = Path.Combine(work, "untrained"), untrainedPackage = Path.Combine(work, "untrained-package");
            Assert.AreEqual(0, DistillCli.Run("data", TrainingFixture.CorpusSample(Path.Combine(work, "corpus"), 4), "--format", "BrownTagged",
                "--tokenizer", RepositoryPaths.DefaultModel, "--out", shards, "--validation-percent", "50"));
            Assert.AreEqual(0, DistillCli.Run("init", "--preset", "edge", "--seed", "1", "--tokenizer", RepositoryPaths.DefaultModel, "--out", untrained));
            Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", untrained, "--out", untrainedPackage));

            var evaluator = new PackageEvaluator(TokenShards.Open(shards), 64, 8);
            double trained = evaluator.Evaluate(RepositoryPaths.DefaultModel, null).Perplexity;
            double random = evaluator.Evaluate(untrainedPackage, null).Perplexity;
            Assert.IsLessThan(random / 5, trained, $"perplexity on Brown text: shipped {trained:F1}, untrained {random:F1}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [TestMethod]
    public void DefaultModelIsUnder20Megabytes()
    {
        long bytes = Directory.EnumerateFiles(RepositoryPaths.DefaultModel, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.IsLessThan(20_000_000L, bytes);
    }
}
