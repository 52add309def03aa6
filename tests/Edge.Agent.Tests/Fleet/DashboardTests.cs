using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Fleet;

/// <summary>docs/grafana-dashboard.json queries only metrics a running daemon exports.</summary>
[TestClass]
public sealed partial class DashboardTests
{
    [TestMethod]
    public async Task EveryMetricTheDashboardQueriesIsExported()
    {
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "docs", "grafana-dashboard.json")));
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .SelectMany(t => MetricName().Matches(t.GetProperty("expr").GetString()!).Select(m => m.Value))
            .Append(MetricName().Match(dashboard.RootElement.GetProperty("templating").GetProperty("list")[0].GetProperty("query").GetString()!).Value)
            .ToHashSet();
        Assert.IsTrue(queried.Count >= 9, string.Join(", ", queried));

        // A completion and a refused update, so that every counter has a series.
        await using var daemon = await LiveDaemon.StartAsync(TestKeys.AdminArguments);
        using var answer = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"Status","max_tokens":2}""", Encoding.UTF8, "application/json"));
        Assert.IsTrue(answer.IsSuccessStatusCode);
        using var refused = await daemon.Admin.PostAsync("/v1/admin/update", new ByteArrayContent([1, 2, 3]));
        Assert.IsFalse(refused.IsSuccessStatusCode);
        string metrics = await daemon.Client.GetStringAsync("/metrics");
        foreach (string name in queried)
            Assert.IsTrue(Regex.IsMatch(metrics, $"(?m)^{Regex.Escape(name)}[{{ ]"), $"the dashboard queries {name}, which /metrics does not export");
    }

    [GeneratedRegex(@"dsedge_[a-z_]+")]
    private static partial Regex MetricName();
}
