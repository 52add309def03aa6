using System.Globalization;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Tests;

/// <summary>Checks the distillation tests make on packages and on the reports eval writes.</summary>
internal static class PackageAssert
{
    /// <summary>The package, run by Edge.Runtime, produces the greedy ids its manifest's smoke test recorded.</summary>
    public static void PassesItsSmokeTest(string directory)
    {
        var smoke = ModelPackage.Open(directory).Manifest.SmokeTest ?? throw new AssertFailedException($"{directory} has no smoke test.");
        using var engine = InferenceEngine.Load(directory);
        var result = engine.Complete(smoke.Prompt, new GenerationSettings { MaxTokens = smoke.ExpectedIds.Count, StopAtEos = false });
        CollectionAssert.AreEqual(smoke.ExpectedIds.ToList(), result.CompletionIds.ToList());
    }

    /// <summary>The top-1 agreement (percent) of the report's second package row with its teacher.</summary>
    public static double AgreementOfSecondRow(string report)
    {
        var row = File.ReadAllLines(report).Where(l => l.StartsWith("| deepseek", StringComparison.Ordinal)).ElementAt(1);
        var cells = row.Split('|').Select(c => c.Trim()).ToArray();
        return double.Parse(cells[9].TrimEnd('%', ' '), CultureInfo.InvariantCulture);
    }
}
