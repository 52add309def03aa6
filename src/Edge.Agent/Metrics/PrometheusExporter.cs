using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Edge.Agent.Metrics;

/// <summary>
/// Collects the instruments of one meter (System.Diagnostics.Metrics) and writes them in the
/// Prometheus text format: counters as sums, histograms as cumulative buckets, observable gauges
/// read at scrape time. Small and AOT-safe, which the OpenTelemetry exporter (beta here) is not known to be.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), Series> _series = new();
    private readonly ConcurrentDictionary<Instrument, byte> _instruments = new();

    public PrometheusExporter(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                _instruments[instrument] = 0;
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Record(i, value, tags));
        _listener.Start();
    }

    public string Scrape()
    {
        // Gauges report their current value on demand; clear the previous reading first.
        foreach (var key in _series.Keys.Where(k => k.Instrument.IsObservable))
            _series.TryRemove(key, out _);
        _listener.RecordObservableInstruments();

        var text = new StringBuilder();
        foreach (var instrument in _instruments.Keys.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var series = _series.Where(s => ReferenceEquals(s.Key.Instrument, instrument)).OrderBy(s => s.Key.Labels, StringComparer.Ordinal).ToList();
            string type = instrument switch
            {
                Histogram<double> or Histogram<int> or Histogram<long> => "histogram",
                Counter<long> or Counter<int> or Counter<double> => "counter",
                _ => "gauge",
            };
            text.Append(CultureInfo.InvariantCulture, $"# HELP {instrument.Name} {instrument.Description}\n# TYPE {instrument.Name} {type}\n");
            foreach (var (key, value) in series)
                value.Write(text, instrument.Name, key.Labels, type == "histogram");
        }
        return text.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string labels = Labels(tags);
        bool histogram = instrument is Histogram<double> or Histogram<int> or Histogram<long>;
        var series = _series.GetOrAdd((instrument, labels), _ => new Series(histogram ? BucketsFor(instrument) : null));
        series.Add(value, gauge: instrument.IsObservable);
    }

    private static double[] BucketsFor(Instrument instrument) => instrument.Unit == "s" ? SecondsBuckets : CountBuckets;

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
            return "";
        var parts = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            string escaped = Convert.ToString(value, CultureInfo.InvariantCulture)!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            parts.Add($"{key}=\"{escaped}\"");
        }
        parts.Sort(StringComparer.Ordinal);
        return string.Join(',', parts);
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>One labelled series: a running sum (counters, gauges) or bucket counts (histograms).</summary>
    private sealed class Series(double[]? buckets)
    {
        private readonly long[]? _counts = buckets is null ? null : new long[buckets.Length];
        private readonly Lock _lock = new();
        private double _sum;
        private long _count;

        public void Add(double value, bool gauge)
        {
            lock (_lock)
            {
                _sum = gauge ? value : _sum + value;
                _count++;
                if (_counts is not null)
                {
                    for (int i = 0; i < buckets!.Length; i++)
                    {
                        if (value <= buckets[i])
                            _counts[i]++;
                    }
                }
            }
        }

        public void Write(StringBuilder text, string name, string labels, bool histogram)
        {
            lock (_lock)
            {
                var c = CultureInfo.InvariantCulture;
                if (!histogram)
                {
                    text.Append(c, $"{name}{Braces(labels)} {_sum.ToString("R", c)}\n");
                    return;
                }
                for (int i = 0; i < buckets!.Length; i++)
                    text.Append(c, $"{name}_bucket{Braces(Join(labels, $"le=\"{buckets[i].ToString("R", c)}\""))} {_counts![i]}\n");
                text.Append(c, $"{name}_bucket{Braces(Join(labels, "le=\"+Inf\""))} {_count}\n");
                text.Append(c, $"{name}_sum{Braces(labels)} {_sum.ToString("R", c)}\n");
                text.Append(c, $"{name}_count{Braces(labels)} {_count}\n");
            }
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : $"{labels},{extra}";

        private static string Braces(string labels) => labels.Length == 0 ? "" : $"{{{labels}}}";
    }
}
