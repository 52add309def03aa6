using System.Globalization;
using Edge.Distill.Checkpoints;
using Edge.Distill.Training;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>edge-distill train on real shards with real TorchSharp (and ONNX Runtime for a package teacher).</summary>
[TestClass]
public sealed class TrainingTests
{
    private static string Run(string name) => Path.Combine(TrainingFixture.Work, $"{name}-{Guid.NewGuid():N}");

    /// <summary>train on the fixture with small defaults; <paramref name="overrides"/> are option/value pairs that replace or add to them.</summary>
    private static string[] Train(string output, int steps, params string[] overrides)
    {
        var options = new Dictionary<string, string>
        {
            ["--student"] = TrainingFixture.Student, ["--data"] = TrainingFixture.Shards, ["--out"] = output, ["--steps"] = steps.ToString(CultureInfo.InvariantCulture),
            ["--batch-size"] = "4", ["--seq-len"] = "32", ["--warmup"] = "1", ["--log-every"] = "1", ["--checkpoint-every"] = "2",
        };
        for (int i = 0; i < overrides.Length; i += 2)
            options[overrides[i]] = overrides[i + 1];
        return ["train", .. options.SelectMany(pair => new[] { pair.Key, pair.Value })];
    }

    private static List<string[]> Log(string output) =>
        [.. File.ReadAllLines(Path.Combine(output, "training", "log.csv")).Skip(1).Select(line => line.Split(','))];

    private static float[] Weights(string checkpoint) =>
        [.. Safetensors.Read(Path.Combine(checkpoint, Checkpoint.WeightsFile)).OrderBy(p => p.Key, StringComparer.Ordinal).SelectMany(p => p.Value.Data)];

    [TestMethod]
    public void TheLossFallsAndTheOutputIsACheckpointThatExports()
    {
        string output = Run("scratch");
        Assert.AreEqual(0, DistillCli.Run(Train(output, 30, "--lr", "0.01")));
        var log = Log(output);
        Assert.HasCount(30, log);
        double first = double.Parse(log[0][2], CultureInfo.InvariantCulture), last = log.TakeLast(5).Average(r => double.Parse(r[2], CultureInfo.InvariantCulture));
        Assert.IsLessThan(first - 0.5, last, $"loss {first} -> {last}");
        Assert.IsTrue(File.ReadAllText(Path.Combine(output, "training", "routing.log")).Contains("moe layer 1: tokens per expert %", StringComparison.Ordinal));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", output, "--out", Path.Combine(output, "package")));
        Assert.AreEqual(0, DistillCli.Run("verify", "--checkpoint", output, "--package", Path.Combine(output, "package")), "the trained graph still matches TorchSharp");
    }

    [TestMethod]
    public void AResumedRunEndsWithExactlyTheWeightsOfAnUninterruptedOne()
    {
        string straight = Run("straight"), resumed = Run("resumed");
        Assert.AreEqual(0, DistillCli.Run(Train(straight, 6)));
        Assert.AreEqual(0, DistillCli.Run(Train(resumed, 6, "--stop-at", "4")), "interrupted after the checkpoint at step 4");
        Assert.IsFalse(File.Exists(Path.Combine(resumed, Checkpoint.WeightsFile)), "an interrupted run publishes no final weights");
        Assert.AreEqual(0, DistillCli.Run(Train(resumed, 6)), "the rerun continues from step 4");
        CollectionAssert.AreEqual(Weights(straight), Weights(resumed));
        CollectionAssert.AreEqual(Log(straight).Select(r => r[2]).ToList(), Log(resumed).Select(r => r[2]).ToList(), "the same losses at every step");
        Assert.AreEqual(2, DistillCli.Run(Train(resumed, 8, "--lr", "0.5")), "other options on the same run are refused");
    }

    [TestMethod]
    public void DistillationFromAPackageTeacherAddsTheKdTermAndBothDirectionsWork()
    {
        // The teacher: the student trained a little, exported and run through ONNX Runtime.
        string teacherRun = Run("teacher");
        Assert.AreEqual(0, DistillCli.Run(Train(teacherRun, 4)));
        string teacher = Path.Combine(teacherRun, "package");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", teacherRun, "--out", teacher));
        foreach (string direction in new[] { "Forward", "Reverse" })
        {
            string output = Run("distilled");
            Assert.AreEqual(0, DistillCli.Run(Train(output, 3, "--teacher", teacher, "--kd", direction, "--kd-weight", "0.7")));
            var kd = Log(output).Select(r => double.Parse(r[4], CultureInfo.InvariantCulture)).ToList();
            Assert.IsTrue(kd.All(v => v > 0 && double.IsFinite(v)), $"{direction}: kd {string.Join(", ", kd)}");
        }
        string fromCheckpoint = Run("distilled-ckpt");
        Assert.AreEqual(0, DistillCli.Run(Train(fromCheckpoint, 2, "--teacher-checkpoint", teacherRun, "--bias-update-rate", "0.001", "--precision", "Bf16")));
        Assert.IsTrue(Log(fromCheckpoint).All(r => double.Parse(r[4], CultureInfo.InvariantCulture) > 0));
        var biases = Safetensors.Read(Path.Combine(fromCheckpoint, Checkpoint.WeightsFile)).Where(p => p.Key.EndsWith("e_score_correction_bias", StringComparison.Ordinal)).ToList();
        Assert.IsNotEmpty(biases);
        Assert.IsTrue(biases.All(b => b.Value.Data.Any(v => v != 0)), "the auxiliary-loss-free update moved every routing bias");
    }

    [TestMethod]
    public void ATeacherWithAnotherVocabularyIsRefusedWithThatReason()
    {
        var (code, errors) = DistillCli.RunCapturingErrors(Train(Run("other-vocab"), 2, "--teacher", RepositoryPaths.DefaultModel));
        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "different vocabularies");
    }

    [TestMethod]
    public void AVocabularyMapLetsATeacherWithALargerVocabularyTeach()
    {
        // The default model's tokenizer has 8,000 merges; the fixture student's, its first 2,000.
        string output = Run("mapped");
        Assert.AreEqual(0, DistillCli.Run(Train(output, 2, "--teacher", RepositoryPaths.DefaultModel, "--vocab-map", "auto")));
        var kd = Log(output).Select(r => double.Parse(r[4], CultureInfo.InvariantCulture)).ToList();
        Assert.IsTrue(kd.All(v => v > 0 && double.IsFinite(v)), $"kd {string.Join(", ", kd)}");
    }

    [TestMethod]
    public void AVocabularyMapIsRefusedWhereTheStudentHasTokensTheTeacherLacks()
    {
        string student = Run("wide-student");
        Assert.AreEqual(0, DistillCli.Run("init", "--preset", "tiny", "--seed", "3", "--tokenizer", RepositoryPaths.DefaultModel, "--out", student));
        var (code, errors) = DistillCli.RunCapturingErrors(Train(Run("wide"), 2, "--student", student, "--teacher-checkpoint", TrainingFixture.Student, "--vocab-map", "auto"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "is not in the teacher's vocabulary");
        Assert.AreEqual(2, DistillCli.Run(Train(Run("map-file"), 2, "--teacher", RepositoryPaths.DefaultModel, "--vocab-map", "map.json")));
        Assert.AreEqual(2, DistillCli.Run(Train(Run("map-alone"), 2, "--vocab-map", "auto")));
    }

    [TestMethod]
    public void ANaNLossStopsAtItsStepAndLeavesTheLastGoodCheckpoint()
    {
        string output = Run("diverged");
        var (code, errors) = DistillCli.RunCapturingErrors(Train(output, 20, "--lr", "1e30", "--warmup", "0", "--checkpoint-every", "1", "--clip", "1e30"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "The loss is not a number at step");
        StringAssert.Contains(errors, "last good checkpoint");
        Assert.IsTrue(File.Exists(Path.Combine(output, Checkpoint.WeightsFile)), "the output holds the last good weights");
        Assert.IsTrue(Weights(output).All(float.IsFinite));
    }

    [TestMethod]
    public void ACheckpointOfAnotherArchitectureIsRefused()
    {
        string output = Run("arch");
        Assert.AreEqual(0, DistillCli.Run(Train(output, 2)));
        string other = Run("other-student");
        Assert.AreEqual(0, DistillCli.Run("init", "--preset", "tiny", "--seed", "3", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", other));
        var (code, errors) = DistillCli.RunCapturingErrors(Train(output, 4, "--student", other));
        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "another architecture");
        (code, errors) = DistillCli.RunCapturingErrors(Train(Run("bad-options"), 2, "--warmup", "5"));
        Assert.AreEqual(2, code, "warm-up longer than the run");
        StringAssert.Contains(errors, "--warmup must be");
    }

    [TestMethod]
    public void TheScheduleWarmsUpThenDecaysToTheFloor()
    {
        var options = new TrainingOptions { Steps = 100, WarmupSteps = 10, LearningRate = 1.0, MinLearningRateRatio = 0.1 };
        Assert.AreEqual(0.1, LearningRateSchedule.At(0, options), 1e-9);
        Assert.AreEqual(1.0, LearningRateSchedule.At(9, options), 1e-9);
        Assert.AreEqual(1.0, LearningRateSchedule.At(10, options), 1e-9);
        Assert.AreEqual(0.55, LearningRateSchedule.At(10 + 89 / 2, options), 0.02);
        Assert.AreEqual(0.1, LearningRateSchedule.At(99, options), 1e-9);
    }
}
