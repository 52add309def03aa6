using System.CommandLine;
using Edge.Distill.Data;
using Edge.Distill.Training;

namespace Edge.Distill.Commands;

/// <summary>edge-distill train: train a student on shards, from scratch or distilling a teacher; reruns resume.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var defaults = new TrainingOptions();
        var student = new Option<string>("--student") { Description = "Student checkpoint folder to start from (edge-distill init).", Required = true };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher model package (anything Edge.Runtime runs)." };
        var teacherCheckpoint = new Option<string?>("--teacher-checkpoint") { Description = "Teacher as a TorchSharp checkpoint folder." };
        var vocabularyMap = new Option<string?>("--vocab-map") { Description = "auto: a teacher with another tokenizer, matched to the student's tokens by string (every student token must be a teacher token)." };
        var data = new Option<string>("--data") { Description = "Shards folder (edge-distill data).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder: the trained checkpoint, and training/ with checkpoints, log.csv and routing.log. A rerun with the same folder resumes.", Required = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => defaults.Steps, Description = "Optimizer steps." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => defaults.BatchSize, Description = "Sequences per micro-batch." };
        var length = new Option<int>("--seq-len") { DefaultValueFactory = _ => defaults.SequenceLength, Description = "Tokens per sequence." };
        var accumulation = new Option<int>("--grad-accum") { DefaultValueFactory = _ => defaults.GradientAccumulation, Description = "Micro-batches per optimizer step." };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => defaults.LearningRate, Description = "Peak learning rate (AdamW)." };
        var minLr = new Option<double>("--min-lr-ratio") { DefaultValueFactory = _ => defaults.MinLearningRateRatio, Description = "Final learning rate as a share of the peak (cosine decay)." };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => defaults.WarmupSteps, Description = "Linear warm-up steps." };
        var decay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => defaults.WeightDecay, Description = "AdamW weight decay." };
        var clip = new Option<double>("--clip") { DefaultValueFactory = _ => defaults.GradientClip, Description = "Gradient norm clip." };
        var precision = new Option<TrainingPrecision>("--precision") { DefaultValueFactory = _ => defaults.Precision, Description = "Fp32, or Bf16 (weights, activations and optimizer state in bfloat16)." };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => defaults.Seed, Description = "Seed of the data order." };
        var kdWeight = new Option<double>("--kd-weight") { DefaultValueFactory = _ => defaults.KdWeight, Description = "Weight of the distillation loss; cross-entropy gets 1 - this." };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => defaults.Temperature, Description = "Distillation temperature." };
        var direction = new Option<KdDirection>("--kd") { DefaultValueFactory = _ => defaults.KdDirection, Description = "Forward KL(teacher||student) or Reverse KL(student||teacher)." };
        var balance = new Option<double>("--balance-weight") { DefaultValueFactory = _ => defaults.BalanceWeight, Description = "MoE load-balancing loss coefficient." };
        var biasRate = new Option<double>("--bias-update-rate") { DefaultValueFactory = _ => defaults.BiasUpdateRate, Description = "Auxiliary-loss-free balancing: routing-bias step per update (0: off)." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => defaults.CheckpointEvery, Description = "Steps between checkpoints." };
        var stopAt = new Option<int?>("--stop-at") { Description = "Stop after the checkpoint of this step (a rerun resumes); the schedule still spans --steps." };
        var logEvery = new Option<int>("--log-every") { DefaultValueFactory = _ => defaults.LogEvery, Description = "Steps between log.csv lines." };
        var command = new Command("train", "Train a student on shards: cross-entropy, knowledge distillation from a teacher, MoE balancing.")
        {
            student, teacher, teacherCheckpoint, vocabularyMap, data, output, steps, batch, length, accumulation, lr, minLr, warmup, decay, clip, precision, seed,
            kdWeight, temperature, direction, balance, biasRate, checkpointEvery, logEvery, stopAt,
        };
        command.SetAction(result =>
        {
            var options = new TrainingOptions
            {
                Steps = result.GetValue(steps), BatchSize = result.GetValue(batch), SequenceLength = result.GetValue(length),
                GradientAccumulation = result.GetValue(accumulation), LearningRate = result.GetValue(lr), MinLearningRateRatio = result.GetValue(minLr),
                WarmupSteps = result.GetValue(warmup), WeightDecay = result.GetValue(decay), GradientClip = result.GetValue(clip),
                Precision = result.GetValue(precision), Seed = result.GetValue(seed), KdWeight = result.GetValue(kdWeight),
                Temperature = result.GetValue(temperature), KdDirection = result.GetValue(direction), BalanceWeight = result.GetValue(balance),
                BiasUpdateRate = result.GetValue(biasRate), CheckpointEvery = result.GetValue(checkpointEvery), LogEvery = result.GetValue(logEvery),
            };
            if (result.GetValue(teacher) is not null && result.GetValue(teacherCheckpoint) is not null)
                throw new ArgumentException("Give --teacher or --teacher-checkpoint, not both.");
            if (result.GetValue(vocabularyMap) is { } map && map != "auto")
                throw new ArgumentException($"--vocab-map '{map}' is not supported; 'auto' matches the tokenizers by token string.");
            Teacher? model = result.GetValue(teacher) is { } package ? new PackageTeacher(package)
                : result.GetValue(teacherCheckpoint) is { } checkpoint ? new CheckpointTeacher(checkpoint)
                : null;
            if (result.GetValue(vocabularyMap) is not null)
            {
                if (model is null)
                    throw new ArgumentException("--vocab-map needs a teacher (--teacher or --teacher-checkpoint).");
                model = WithVocabularyMap(model, result.GetValue(student)!);
            }
            using var _ = model;
            var shards = TokenShards.Open(result.GetValue(data)!);
            var trained = new Trainer(result.GetValue(student)!, shards, model, result.GetValue(output)!, options, Console.WriteLine, result.GetValue(stopAt)).Run();
            if (trained.Steps < options.Steps)
                return 0;
            Console.WriteLine($"Trained {trained.Steps} steps ({trained.Tokens} tokens), final loss {trained.FinalLoss:F4}: {trained.Output}");
            return 0;
        });
        return command;
    }

    private static MappedTeacher WithVocabularyMap(Teacher teacher, string student)
    {
        try
        {
            return new MappedTeacher(teacher, VocabularyMap.Between(teacher.TokenizerDirectory, student), student);
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }
}
