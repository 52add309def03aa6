using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace Edge.Distill.Training;

/// <summary>Tokens routed to each expert of each MoE layer since the last report.</summary>
internal sealed class RoutingStatistics(int layers, int experts)
{
    private readonly long[,] _counts = new long[layers, experts];

    /// <returns>The counts added.</returns>
    public long[] Add(int layer, Tensor tokensPerExpert)
    {
        long[] counts = tokensPerExpert.to_type(ScalarType.Int64).data<long>().ToArray();
        for (int e = 0; e < counts.Length; e++)
            _counts[layer, e] += counts[e];
        return counts;
    }

    /// <summary>"layer 0: 13.1 11.9 ... %" per MoE layer, then resets the counts.</summary>
    public IReadOnlyList<string> Report()
    {
        var lines = new List<string>();
        for (int layer = 0; layer < _counts.GetLength(0); layer++)
        {
            long total = 0;
            for (int e = 0; e < _counts.GetLength(1); e++)
                total += _counts[layer, e];
            var line = new StringBuilder($"moe layer {layer}: tokens per expert %");
            for (int e = 0; e < _counts.GetLength(1); e++)
            {
                line.Append(' ').Append((total == 0 ? 0 : 100.0 * _counts[layer, e] / total).ToString("F1", CultureInfo.InvariantCulture));
                _counts[layer, e] = 0;
            }
            lines.Add(line.ToString());
        }
        return lines;
    }
}
