using Edge.Distill.Training;
using ScottPlot;

namespace Edge.Distill.Evaluation;

/// <summary>The PNG figures of a report: loss curves of training runs, and perplexity against package size.</summary>
internal static class ReportPlots
{
    private const int Width = 900, Height = 540;

    /// <summary>
    /// Cross-entropy on the training data against step, one line per run (each a folder that
    /// `train` wrote): the term every run has, so runs with and without a teacher compare.
    /// </summary>
    public static void TrainingCurves(IEnumerable<(string Name, string Run)> runs, string path)
    {
        var plot = new Plot();
        foreach (var (name, run) in runs)
        {
            var log = TrainingLog.Read(run);
            var line = plot.Add.ScatterLine(log.Select(e => (double)e.Step).ToArray(), log.Select(e => e.CrossEntropy).ToArray());
            line.LegendText = name;
            line.LineWidth = 2;
        }
        plot.Title("Training cross-entropy");
        plot.XLabel("step");
        plot.YLabel("cross-entropy on the training batch (nats)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>Held-out perplexity against package bytes, each point named by its package folder.</summary>
    public static void PerplexityVsSize(IReadOnlyList<PackageScore> scores, string path)
    {
        var plot = new Plot();
        foreach (var score in scores)
        {
            double megabytes = score.PackageBytes / 1e6;
            var point = plot.Add.ScatterPoints(new[] { megabytes }, new[] { score.Perplexity });
            point.MarkerSize = 10;
            point.LegendText = Path.GetFileName(Path.TrimEndingDirectorySeparator(score.Directory));
        }
        plot.Title("Perplexity vs package size");
        plot.XLabel("package size (MB)");
        plot.YLabel("held-out perplexity");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, Width, Height);
    }
}
