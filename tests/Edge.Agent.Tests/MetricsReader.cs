using System.Globalization;

namespace Edge.Agent.Tests;

/// <summary>Reads one series from a daemon's /metrics (Prometheus text).</summary>
internal sealed class MetricsReader(HttpClient client)
{
    /// <summary>The value of the first series whose line starts with the given text, 0 when absent.</summary>
    public async Task<double> ValueAsync(string series)
    {
        string text = await client.GetStringAsync("/metrics");
        string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
