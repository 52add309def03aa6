using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Edge.Distill.Checkpoints;
using Edge.Distill.Data;
using Edge.Distill.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Edge.Distill.Training;

/// <summary>The loss stopped being a number: training stops and names the last good checkpoint.</summary>
internal sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>What a finished run reports.</summary>
internal sealed record TrainingResult(int Steps, long Tokens, double FinalLoss, string Output, bool Resumed);

/// <summary>
/// Trains a student checkpoint on token shards: cross-entropy, plus distillation from a teacher
/// when there is one, plus MoE load balancing; AdamW with warm-up and cosine decay, gradient
/// clipping and accumulation; a checkpoint every N steps that a rerun with the same --out resumes
/// exactly (same weights, optimizer state and data order); a log (training/log.csv) and routing
/// statistics (training/routing.log).
/// </summary>
/// <param name="stopAt">Stop after the checkpoint of this step (a time-boxed session; a rerun resumes), or null to run to the end.</param>
internal sealed class Trainer(string studentDirectory, TokenShards data, Teacher? teacher, string output, TrainingOptions options, Action<string> log, int? stopAt = null)
{
    public TrainingResult Run()
    {
        options.Validate();
        teacher?.RequireVocabularyOf(studentDirectory);
        string dataSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(data.Directory, ShardIndex.FileName))));
        string? resumeFrom = TrainingCheckpoints.Latest(output);
        var studentConfig = DeepSeekV3Config.Load(Path.Combine(studentDirectory, DeepSeekV3Config.FileName));
        var state = resumeFrom is null ? null : TrainingCheckpoints.ReadState(resumeFrom);
        if (resumeFrom is not null && DeepSeekV3Config.Load(Path.Combine(resumeFrom, DeepSeekV3Config.FileName)).ToJson() != studentConfig.ToJson())
            throw new InvalidDataException($"The checkpoint in {resumeFrom} has another architecture than the student {studentDirectory}; use a new --out.");
        if (state is not null)
            RequireSameRun(state, resumeFrom!, dataSha);

        torch.manual_seed(options.Seed);
        using var model = Checkpoint.Load(resumeFrom ?? studentDirectory);
        if (data.Index.VocabularySize > studentConfig.VocabSize)
            throw new InvalidDataException($"The shards were tokenized with {data.Index.VocabularySize} ids; the student's embedding has only {studentConfig.VocabSize} rows.");
        if (options.Precision == TrainingPrecision.Bf16)
            model.to(ScalarType.BFloat16);
        model.train();
        var gates = model.modules().OfType<MoeGate>().ToList();
        foreach (var gate in gates)
            gate.KeepRouting = true;
        using var optimizer = optim.AdamW(model.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        if (resumeFrom is not null)
            optimizer.load_state_dict(Path.Combine(resumeFrom, TrainingCheckpoints.OptimizerFile));

        int vocabulary = data.Index.VocabularySize;
        var sampler = new WindowSampler(data, data.Index.Train, options.SequenceLength, options.Seed);
        var routing = new RoutingStatistics(gates.Count, gates.FirstOrDefault()?.Experts ?? 0);
        Directory.CreateDirectory(TrainingCheckpoints.Root(output));
        string logPath = TrainingLog.PathOf(output);
        if (resumeFrom is null || !File.Exists(logPath))
            File.WriteAllText(logPath, TrainingLog.Header + "\n");
        int start = state?.Step ?? 0;
        long tokens = state?.TokensSeen ?? 0;
        double lastLoss = state?.Loss ?? double.NaN;
        string? lastGood = resumeFrom;
        log(resumeFrom is null
            ? $"Training {options.Steps} steps of {options.BatchSize * options.GradientAccumulation} x {options.SequenceLength} tokens on {data.Index.TrainTokens} tokens ({sampler.WindowsPerEpoch} windows per epoch){(teacher is null ? ", no teacher" : $", teacher: {teacher.Description}")}."
            : $"Resuming at step {start} from {resumeFrom}.");

        var clock = Stopwatch.StartNew();
        long tokensAtClock = tokens;
        int end = Math.Min(options.Steps, stopAt ?? options.Steps);
        for (int step = start; step < end; step++)
        {
            double lr = LearningRateSchedule.At(step, options);
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = lr;
            optimizer.zero_grad();
            double loss = 0, ce = 0, kd = 0, balance = 0;
            var load = new long[gates.Count][];
            for (int micro = 0; micro < options.GradientAccumulation; micro++)
            {
                long first = ((long)step * options.GradientAccumulation + micro) * options.BatchSize;
                var (inputs, targets) = Batch(sampler, first);
                using var scope = NewDisposeScope();
                var logits = model.forward(tensor(inputs, [options.BatchSize, options.SequenceLength]));
                var teacherLogits = teacher?.Logits(inputs, options.BatchSize, options.SequenceLength);
                var (main, crossEntropy, distillation) = TrainingLoss.Compute(logits, tensor(targets), teacherLogits, vocabulary, options);
                var balanceLoss = BalanceLoss(gates, routing, load);
                var total = (main + options.BalanceWeight * balanceLoss) / options.GradientAccumulation;
                double value = total.item<float>();
                if (!double.IsFinite(value))
                    Diverged(step, lastGood, output);
                total.backward();
                loss += value;
                ce += crossEntropy.item<float>() / options.GradientAccumulation;
                kd += (distillation?.item<float>() ?? 0) / options.GradientAccumulation;
                balance += balanceLoss.item<float>() / options.GradientAccumulation;
            }
            double norm = nn.utils.clip_grad_norm_(model.parameters(), options.GradientClip);
            if (!double.IsFinite(norm))
                Diverged(step, lastGood, output);
            StepWithoutCollections(optimizer);
            if (options.BiasUpdateRate > 0)
            {
                for (int layer = 0; layer < gates.Count; layer++)
                {
                    using var perExpert = tensor(load[layer]);
                    gates[layer].UpdateBias(perExpert, options.BiasUpdateRate);
                }
            }
            tokens += (long)options.BatchSize * options.GradientAccumulation * options.SequenceLength;
            lastLoss = loss;

            double perSecond = (tokens - tokensAtClock) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            if ((step + 1) % options.LogEvery == 0 || step + 1 == options.Steps)
            {
                File.AppendAllText(logPath, string.Create(CultureInfo.InvariantCulture, $"{step + 1},{lr:G6},{loss:G6},{ce:G6},{kd:G6},{balance:G6},{norm:G6},{perSecond:F0}\n"));
                File.AppendAllLines(Path.Combine(TrainingCheckpoints.Root(output), "routing.log"), routing.Report().Select(line => $"step {step + 1} {line}"));
            }
            double eta = (end - step - 1) * (clock.Elapsed.TotalSeconds / (step + 1 - start));
            Reporting.Progress.Report(string.Create(CultureInfo.InvariantCulture,
                $"step {step + 1}/{options.Steps} loss {loss:F4} (ce {ce:F4}{(teacher is null ? "" : $", kd {kd:F4}")}) lr {lr:G3} {perSecond:F0} tok/s ETA {TimeSpan.FromSeconds(Math.Round(eta)):c}"));
            if ((step + 1) % options.CheckpointEvery == 0 || step + 1 == end)
            {
                lastGood = TrainingCheckpoints.Save(output, model, optimizer,
                    new TrainingState(step + 1, tokens, options, dataSha, teacher?.Description, loss), studentDirectory);
            }
        }
        Reporting.Progress.Done();
        if (end < options.Steps)
        {
            log($"Stopped after step {end} of {options.Steps}; rerun the same command to continue.");
            return new TrainingResult(end, tokens, lastLoss, output, resumeFrom is not null);
        }
        Publish(lastGood!, output);
        return new TrainingResult(options.Steps, tokens, lastLoss, output, resumeFrom is not null);
    }

    /// <summary>Inputs and next-token targets of the windows first .. first + batch.</summary>
    private (long[] Inputs, long[] Targets) Batch(WindowSampler sampler, long first)
    {
        int length = options.SequenceLength;
        var inputs = new long[options.BatchSize * length];
        var targets = new long[options.BatchSize * length];
        for (int b = 0; b < options.BatchSize; b++)
        {
            var window = sampler.Window(first + b);
            for (int t = 0; t < length; t++)
            {
                inputs[b * length + t] = window[t];
                targets[b * length + t] = window[t + 1];
            }
        }
        return (inputs, targets);
    }

    /// <summary>
    /// The DeepSeek-V3 balance loss over the batch (the paper computes it per sequence): for each MoE
    /// layer, sum over experts of f_i x P_i, where f_i is the share of routed slots expert i got
    /// (scaled so that uniform routing gives 1) and P_i its mean normalised router score.
    /// </summary>
    /// <param name="load">Tokens per expert of each layer in this step, summed over micro-batches (for the bias update).</param>
    private static Tensor BalanceLoss(List<MoeGate> gates, RoutingStatistics routing, long[][] load)
    {
        var total = zeros(1);
        for (int layer = 0; layer < gates.Count; layer++)
        {
            if (gates[layer].LastRouting is not var (scores, indices))
                continue;
            long tokenCount = scores.shape[0];
            var perExpert = nn.functional.one_hot(indices, gates[layer].Experts).sum([0, 1]);
            long[] counts = routing.Add(layer, perExpert);
            load[layer] = load[layer] is { } sum ? [.. sum.Zip(counts, (a, b) => a + b)] : counts;
            var share = perExpert.to_type(ScalarType.Float32) * gates[layer].Experts / (gates[layer].ExpertsPerToken * tokenCount);
            var probability = (scores / scores.sum(-1, keepdim: true)).mean([0]).to_type(ScalarType.Float32);
            total = total + (share * probability).sum();
            scores.Dispose();
            indices.Dispose();
        }
        return total.squeeze();
    }

    /// <summary>
    /// AdamW's step converts doubles to TorchSharp Scalars it does not keep alive; a collection
    /// in the middle lets the finalizer free one while libtorch reads it (the recipe's student run
    /// died in the step with "toDouble ... Expected false to be true"; dotnet/TorchSharp#1496).
    /// No collection runs while the step allocates less than the region's budget.
    /// </summary>
    private static void StepWithoutCollections(optim.Optimizer optimizer)
    {
        bool region = GC.TryStartNoGCRegion(16 * 1024 * 1024);
        try
        {
            optimizer.step();
        }
        finally
        {
            if (region && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
                GC.EndNoGCRegion();
        }
    }

    private void RequireSameRun(TrainingState state, string checkpoint, string dataSha)
    {
        if (state.DataSha256 != dataSha)
            throw new InvalidDataException($"{checkpoint} was trained on other shards; resume with the same --data or use a new --out.");
        if (state.Options with { Steps = options.Steps, CheckpointEvery = options.CheckpointEvery, LogEvery = options.LogEvery } != options)
            throw new InvalidDataException($"{checkpoint} was trained with other options ({state.Options}); resume with the same options (only --steps may grow) or use a new --out.");
        if (state.Step > options.Steps)
            throw new InvalidDataException($"{checkpoint} is at step {state.Step}, past --steps {options.Steps}.");
    }

    /// <summary>Stops the run: the output folder gets the last good checkpoint's weights, and the message says which step that was.</summary>
    private static void Diverged(int step, string? lastGood, string output)
    {
        if (lastGood is null)
            throw new TrainingDivergedException($"The loss is not a number at step {step + 1}; training stopped before any checkpoint was written (try a lower --lr).");
        Publish(lastGood, output);
        throw new TrainingDivergedException($"The loss is not a number at step {step + 1}; training stopped. The last good checkpoint is {lastGood} " +
            $"(step {TrainingCheckpoints.ReadState(lastGood).Step}); its weights are now in {output}.");
    }

    /// <summary>Copies a checkpoint's model files to the top of the output folder, where export expects them.</summary>
    private static void Publish(string checkpoint, string output)
    {
        foreach (string file in Checkpoint.TokenizerFiles.Append(Checkpoint.WeightsFile).Append(DeepSeekV3Config.FileName))
            File.Copy(Path.Combine(checkpoint, file), Path.Combine(output, file), overwrite: true);
    }
}
