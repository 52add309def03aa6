using System.CommandLine;
using Edge.Distill.Data;
using Edge.Distill.Evaluation;

namespace Edge.Distill.Commands;

/// <summary>edge-distill eval: perplexity, agreement with a teacher, size and speed of packages, as a Markdown report.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var packages = new Option<string[]>("--package") { Description = "Package to evaluate (repeat for several; the first is the baseline of the ratios).", Required = true, AllowMultipleArgumentsPerToken = true };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher package: top-1 agreement and KL against it." };
        var data = new Option<string>("--data") { Description = "Shards folder; its validation split is the held-out text.", Required = true };
        var windows = new Option<int>("--windows") { Description = "Validation windows to score.", DefaultValueFactory = _ => 64 };
        var length = new Option<int>("--seq-len") { Description = "Tokens per window.", DefaultValueFactory = _ => 128 };
        var report = new Option<string?>("--report") { Description = "Markdown file to write (default: print it), with PNG figures beside it." };
        var runs = new Option<string[]>("--training-run") { Description = "Training run folder (what `train --out` wrote) whose curve to plot beside the report (repeat for several).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("eval", "Evaluate packages: perplexity, agreement and KL with a teacher, size, parameters, speed.") { packages, teacher, data, windows, length, report, runs };
        command.SetAction(result =>
        {
            if (result.GetValue(windows) < 1 || result.GetValue(length) < 2)
                throw new ArgumentException("--windows must be at least 1 and --seq-len at least 2.");
            if (result.GetValue(runs) is { Length: > 0 } && result.GetValue(report) is null)
                throw new ArgumentException("--training-run draws a figure beside the report: give --report too.");
            foreach (string run in result.GetValue(runs) ?? [])
                _ = Training.TrainingLog.Read(run); // a wrong folder is named before the evaluation's minutes, not after
            var shards = TokenShards.Open(result.GetValue(data)!);
            var evaluator = new PackageEvaluator(shards, result.GetValue(length), result.GetValue(windows));
            string? teacherPackage = result.GetValue(teacher);
            var list = (teacherPackage is null ? [] : new[] { teacherPackage }).Concat(result.GetValue(packages)!).ToList();
            var scores = list.Select(p => evaluator.Evaluate(p, p == teacherPackage ? null : teacherPackage)).ToList();
            string markdown = EvaluationReport.Markdown(scores, result.GetValue(data)!, result.GetValue(windows), result.GetValue(length));
            if (result.GetValue(report) is { } path)
            {
                markdown += Figures(path, scores, result.GetValue(runs) ?? []);
                File.WriteAllText(path, markdown);
                Console.WriteLine($"Wrote {path}.");
            }
            else
            {
                Console.Write(markdown);
            }
            return 0;
        });
        return command;
    }

    /// <summary>Draws the figures next to the report and returns the Markdown that shows them.</summary>
    private static string Figures(string report, IReadOnlyList<PackageScore> scores, string[] runs)
    {
        string stem = Path.GetFileNameWithoutExtension(report), folder = Path.GetDirectoryName(Path.GetFullPath(report))!;
        string size = $"{stem}-perplexity-vs-size.png";
        ReportPlots.PerplexityVsSize(scores, Path.Combine(folder, size));
        var markdown = new System.Text.StringBuilder().AppendLine().AppendLine($"![Held-out perplexity against package size]({size})");
        if (runs.Length > 0)
        {
            string curves = $"{stem}-training.png";
            ReportPlots.TrainingCurves(runs.Select(run => (Path.GetFileName(Path.TrimEndingDirectorySeparator(run)), run)), Path.Combine(folder, curves));
            markdown.AppendLine().AppendLine($"![Training cross-entropy]({curves})");
        }
        return markdown.ToString();
    }
}
