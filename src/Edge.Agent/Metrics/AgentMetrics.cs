using System.Diagnostics.Metrics;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

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

    public AgentMetrics()
    {
        Meter = new Meter("DeepSeekEdge");
        Runtime = new RuntimeMetrics(Meter);
        _requests = Meter.CreateCounter<long>("dsedge_http_requests_total", description: "HTTP requests by route and status.");
        _cache = Meter.CreateCounter<long>("dsedge_cache_lookups_total", description: "Response cache lookups of deterministic requests, by result.");
        _updates = Meter.CreateCounter<long>("dsedge_ota_updates_total", description: "Model update outcomes: installed, refused, committed (passed probation), rolled-back.");
        Exporter = new PrometheusExporter(Meter);
    }

    public Meter Meter { get; }
    public RuntimeMetrics Runtime { get; }
    public PrometheusExporter Exporter { get; }

    /// <summary>Gauges that read the engine and scheduler at scrape time.</summary>
    public void Observe(Serving.ModelSlot slot)
    {
        Meter.CreateObservableGauge("dsedge_model_info", () =>
        {
            var engine = slot.Current.Engine;
            return new Measurement<int>(1,
                new KeyValuePair<string, object?>("model", engine.Package.Manifest.Name),
                new KeyValuePair<string, object?>("version", engine.Package.Manifest.Version),
                new KeyValuePair<string, object?>("provider", engine.Provider));
        }, description: "The model in service (value 1).");
        Meter.CreateObservableGauge("dsedge_queue_depth", () => slot.Current.Scheduler?.QueueDepth ?? 0, description: "Requests waiting for a batch slot.");
        Meter.CreateObservableGauge("dsedge_active_sequences", () => slot.Current.Scheduler?.ActiveSequences ?? 0, description: "Sequences in the running batch.");
    }

    public void CountRequest(string route, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("status", status));

    public void CountUpdate(string outcome) => _updates.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>1 while a freshly installed version is on probation.</summary>
    public void ObserveProbation(Ota.OtaJournal journal) =>
        Meter.CreateObservableGauge("dsedge_ota_probation", () => journal.Probation is null ? 0 : 1, description: "1 while an updated model is on probation.");

    public void CountCache(bool hit) => _cache.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    public void Dispose()
    {
        Exporter.Dispose();
        Meter.Dispose();
    }
}
