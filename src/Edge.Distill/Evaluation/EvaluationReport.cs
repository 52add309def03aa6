using System.Globalization;
using System.Text;

namespace Edge.Distill.Evaluation;

/// <summary>The Markdown table of an evaluation, one row per package, ratios against the first.</summary>
internal static class EvaluationReport
{
    public static string Markdown(IReadOnlyList<PackageScore> scores, string data, int windows, int length)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine("# Evaluation").AppendLine();
        text.AppendLine(c, $"Held-out text: the first {windows} validation windows of {length} tokens of `{data}` ({scores[0].Tokens:N0} predicted tokens).");
        text.AppendLine("Perplexity, agreement and KL through ONNX Runtime; speed through Edge.Runtime's engine on this machine (greedy, one stream, median of 3).").AppendLine();
        text.AppendLine("| package | quantization | package bytes | model bytes | vs first | params (active) | perplexity | vs first | top-1 agreement | KL(teacher‖p) | TTFT ms (64-token prompt) | decode tok/s |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var first = scores[0];
        foreach (var s in scores)
        {
            text.AppendLine(c, $"| {s.Name} (`{Path.GetFileName(Path.TrimEndingDirectorySeparator(s.Directory))}`) | {Short(s.Quantization)} | {s.PackageBytes:N0} | {s.ModelBytes:N0} | {(double)s.PackageBytes / first.PackageBytes:P0} | " +
                $"{s.Parameters:N0} ({s.ActiveParameters:N0}) | {s.Perplexity:F2} | {Change(s.Perplexity / first.Perplexity - 1)} | " +
                $"{(s.TeacherAgreement is { } a ? a.ToString("P1", c) : "-")} | {(s.TeacherKl is { } k ? k.ToString("F4", c) : "-")} | {s.TimeToFirstTokenMs:F1} | {s.DecodeTokensPerSecond:F0} |");
        }
        return text.ToString();
    }

    private static string Change(double change) => (change >= 0 ? "+" : "") + change.ToString("P1", CultureInfo.InvariantCulture);

    private static string Short(string quantization) => quantization.Split(" (")[0];
}
