using System.Diagnostics.Metrics;

namespace Edge.Runtime.Diagnostics;

/// <summary>
/// The engine's instruments (System.Diagnostics.Metrics) on a meter the host owns, so that two
/// engines in one process (tests, a staged update) never mix their numbers.
/// </summary>
public sealed class RuntimeMetrics
{
    public RuntimeMetrics(Meter meter)
    {
        Meter = meter;
        TimeToFirstToken = meter.CreateHistogram<double>("dsedge_time_to_first_token_seconds", "s", "From a request being accepted to its first token.");
        TokenLatency = meter.CreateHistogram<double>("dsedge_token_latency_seconds", "s", "Time between consecutive tokens of one generation.");
        TokensGenerated = meter.CreateCounter<long>("dsedge_tokens_generated_total", description: "Tokens generated.");
        BatchSize = meter.CreateHistogram<int>("dsedge_batch_size", description: "Sequences decoded together in one step.");
        Generations = meter.CreateCounter<long>("dsedge_generations_total", description: "Finished generations by finish reason.");
    }

    public Meter Meter { get; }
    public Histogram<double> TimeToFirstToken { get; }
    public Histogram<double> TokenLatency { get; }
    public Counter<long> TokensGenerated { get; }
    public Histogram<int> BatchSize { get; }
    public Counter<long> Generations { get; }
}
