using System.Text.Json;
using Edge.Runtime.Benchmarks;

namespace Edge.Runtime.Tests.Benchmarks;

/// <summary>
/// The bench runs end to end on the default model and reports what it measured. Its numbers are
/// timings and are not asserted; what is asserted is that each measure was taken (a run decoded
/// tokens, a ratio came from two timed runs) and that the report serialises.
/// </summary>
[TestClass]
public sealed class EngineBenchmarkTests
{
    [TestMethod]
    public void ReportsEveryMeasureItTook()
    {
        var settings = new BenchmarkSettings { PromptTokens = 16, GeneratedTokens = 8, Runs = 3, ConcurrentStreams = [2], OverheadSteps = 20, LongPromptTokens = 0 };
        var report = EngineBenchmark.Run(DefaultEngine.Instance, settings);

        Assert.AreEqual(16, report.PromptTokens);
        Assert.IsTrue(report.TimeToFirstTokenMs > 0 && report.DecodeTokensPerSecond > 0);
        var constrained = report.Constrained;
        Assert.AreEqual(3, constrained.Rounds);
        Assert.IsTrue(constrained.JsonObjectTokens >= 1 && constrained.JsonSchemaTokens >= 1);
        foreach (double measure in new[] { constrained.JsonObjectRatio, constrained.JsonObjectColdRatio, constrained.JsonSchemaRatio, constrained.JsonSchemaColdRatio, constrained.JsonObjectWorkShare, constrained.JsonSchemaWorkShare })
            Assert.IsTrue(double.IsFinite(measure) && measure > 0, $"{measure}");
        Assert.AreEqual(2, report.Concurrency.Single().Streams);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(report, BenchmarkJsonContext.Default.BenchmarkReport));
        Assert.IsTrue(json.RootElement.GetProperty("constrained").GetProperty("json_schema_work_microseconds").GetDouble() > 0);
    }
}
