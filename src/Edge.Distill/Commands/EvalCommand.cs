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
        var report = new Option<string?>("--report") { Description = "Markdown file to write (default: print it)." };
        var command = new Command("eval", "Evaluate packages: perplexity, agreement and KL with a teacher, size, parameters, speed.") { packages, teacher, data, windows, length, report };
        command.SetAction(result =>
        {
            if (result.GetValue(windows) < 1 || result.GetValue(length) < 2)
                throw new ArgumentException("--windows must be at least 1 and --seq-len at least 2.");
            var shards = TokenShards.Open(result.GetValue(data)!);
            var evaluator = new PackageEvaluator(shards, result.GetValue(length), result.GetValue(windows));
            string? teacherPackage = result.GetValue(teacher);
            var list = (teacherPackage is null ? [] : new[] { teacherPackage }).Concat(result.GetValue(packages)!).ToList();
            var scores = list.Select(p => evaluator.Evaluate(p, p == teacherPackage ? null : teacherPackage)).ToList();
            string markdown = EvaluationReport.Markdown(scores, result.GetValue(data)!, result.GetValue(windows), result.GetValue(length));
            if (result.GetValue(report) is { } path)
            {
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
}
