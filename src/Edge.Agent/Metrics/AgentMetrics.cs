using System.Diagnostics.Metrics;
using Edge.Runtime.Diagnostics;

namespace Edge.Agent.Metrics;

/// <summary>
/// The daemon's meter: the engine's instruments, HTTP requests by route and status, and gauges
/// for queue depth, running sequences and the model in service. One meter per host.
/// </summary>
internal sealed class AgentMetrics : IDisposable
{
    private readonly Counter<long> _requests;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _updates;
    private readonly Counter<long> _cacheFailures;

    public AgentMetrics()
    {
        Meter = new Meter("DeepSeekEdge");
        Runtime = new RuntimeMetrics(Meter);
        _requests = Meter.CreateCounter<long>("dsedge_http_requests_total", description: "HTTP requests by route and status.");
        _cache = Meter.CreateCounter<long>("dsedge_cache_lookups_total", description: "Response cache lookups of deterministic requests, by result.");
        _cacheFailures = Meter.CreateCounter<long>("dsedge_cache_failures_total", description: "Response cache reads and writes that failed (a full disk, say); the request was served without the cache.");
        _updates = Meter.CreateCounter<long>("dsedge_ota_updates_total", description: "Model update outcomes: installed, refused, committed (passed probation), rolled-back.");
        Exporter = new PrometheusExporter(Meter);
    }

    public Meter Meter { get; }
    public RuntimeMetrics Runtime { get; }
    public PrometheusExporter Exporter { get; }

    /// <summary>What the gauges read at scrape time, handed in by the host so that this folder depends on nothing of the daemon's.</summary>
    internal sealed record Readings(Func<(string Model, string Version, string Provider)> ModelInService, Func<int> QueueDepth, Func<int> ActiveSequences,
        Func<long> PrefixTokensReused, Func<bool> Healthy, Func<bool> OnProbation, Func<long> AuditLinesDropped);

    public void Observe(Readings readings)
    {
        Meter.CreateObservableGauge("dsedge_model_info", () =>
        {
            var (model, version, provider) = readings.ModelInService();
            return new Measurement<int>(1,
                new KeyValuePair<string, object?>("model", model),
                new KeyValuePair<string, object?>("version", version),
                new KeyValuePair<string, object?>("provider", provider));
        }, description: "The model in service (value 1).");
        Meter.CreateObservableGauge("dsedge_queue_depth", readings.QueueDepth, description: "Requests waiting for a batch slot.");
        Meter.CreateObservableGauge("dsedge_active_sequences", readings.ActiveSequences, description: "Sequences in the running batch.");
        Meter.CreateObservableCounter("dsedge_prefix_tokens_reused_total", readings.PrefixTokensReused,
            description: "Prompt tokens copied from computed prefixes instead of prefilled (Scheduler:PrefixCacheMiB); restarts at 0 with each model loaded.");
        Meter.CreateObservableGauge("dsedge_resident_memory_bytes", () => Environment.WorkingSet, description: "The daemon's resident memory (RSS).");
        Meter.CreateObservableGauge("dsedge_engine_healthy", () => readings.Healthy() ? 1 : 0, description: "1 while the engine can serve; 0 when it stopped or stalled (see /readyz).");
        Meter.CreateObservableGauge("dsedge_ota_probation", () => readings.OnProbation() ? 1 : 0, description: "1 while an updated model is on probation.");
        Meter.CreateObservableCounter("dsedge_audit_dropped_lines_total", readings.AuditLinesDropped, description: "Audit lines not written: over Audit:MaxKilobytesPerDay or Audit:MaxMegabytes, or refused by a full disk.");
    }

    public void CountRequest(string route, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("status", status));

    public void CountUpdate(string outcome) => _updates.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void CountCache(bool hit) => _cache.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    public void CountCacheFailure(string operation) => _cacheFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void Dispose()
    {
        Exporter.Dispose();
        Meter.Dispose();
    }
}
