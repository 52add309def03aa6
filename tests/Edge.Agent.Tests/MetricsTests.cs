using System.Text;
using System.Text.RegularExpressions;

namespace Edge.Agent.Tests;

/// <summary>GET /metrics in Prometheus text format after real traffic.</summary>
[TestClass]
public sealed partial class MetricsTests
{
    [TestMethod]
    public async Task ExposesRequestsTokensLatenciesAndTheModel()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        // Start-up already ran one warm-up generation; count from here.
        string baseline = await daemon.Client.GetStringAsync("/metrics");
        for (int i = 0; i < 3; i++)
        {
            // Different prompts, so the response cache does not answer the repeats.
            using var ok = await daemon.Client.PostAsync("/v1/completions", new StringContent($$"""{"prompt":"Hello {{i}}","max_tokens":5,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
            Assert.IsTrue(ok.IsSuccessStatusCode);
        }
        using var bad = await daemon.Client.PostAsync("/v1/completions", new StringContent("nope", Encoding.UTF8, "application/json"));
        // Two questions after one long shared instruction: the second copies the instruction's cache rows.
        const string instruction = "You are the maintenance assistant of hall 4. Answer in one short sentence, name the station and the part, and never guess a value you were not given.";
        foreach (string question in new[] { "Which pump?", "Which valve?" })
        {
            using var shared = await daemon.Client.PostAsync("/v1/completions", new StringContent($$"""{"prompt":"{{instruction}} {{question}}","max_tokens":2,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
            Assert.IsTrue(shared.IsSuccessStatusCode);
        }

        using var response = await daemon.Client.GetAsync("/metrics");
        Assert.AreEqual("text/plain", response.Content.Headers.ContentType!.MediaType);
        string text = await response.Content.ReadAsStringAsync();

        Assert.AreEqual(5.0, Value(text, "dsedge_http_requests_total{route=\"/v1/completions\",status=\"200\"}"));
        Assert.IsGreaterThanOrEqualTo(20.0, Value(text, "dsedge_prefix_tokens_reused_total") - Value(baseline, "dsedge_prefix_tokens_reused_total"));
        Assert.AreEqual(1.0, Value(text, "dsedge_http_requests_total{route=\"/v1/completions\",status=\"400\"}"));
        Assert.AreEqual(15.0, Value(text, "dsedge_tokens_generated_total") - Value(baseline, "dsedge_tokens_generated_total") - 4);
        Assert.AreEqual(5.0, Value(text, "dsedge_time_to_first_token_seconds_count") - Value(baseline, "dsedge_time_to_first_token_seconds_count"));
        Assert.AreEqual(12.0, Value(text, "dsedge_token_latency_seconds_count") - Value(baseline, "dsedge_token_latency_seconds_count") - 2);
        Assert.AreEqual(5.0, Value(text, "dsedge_generations_total{finish_reason=\"length\"}") - Value(baseline, "dsedge_generations_total{finish_reason=\"length\"}"));
        Assert.IsGreaterThanOrEqualTo(3.0, Value(text, "dsedge_batch_size_count"));
        Assert.AreEqual(1.0, Value(text, "dsedge_model_info{model=\"deepseek-edge\",provider=\"cpu\",version=\"0.1.0\"}"));
        Assert.AreEqual(0.0, Value(text, "dsedge_queue_depth"));
        StringAssert.Contains(text, "# TYPE dsedge_time_to_first_token_seconds histogram");
        Assert.AreEqual(Value(text, "dsedge_time_to_first_token_seconds_count"), Value(text, "dsedge_time_to_first_token_seconds_bucket{le=\"+Inf\"}"));
    }

    private static double Value(string text, string series)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        Assert.IsTrue(match.Success, $"no series {series} in:\n{text}");
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
