namespace Edge.Distill.Training;

/// <summary>Which way the distillation KL divergence runs.</summary>
internal enum KdDirection
{
    /// <summary>KL(teacher || student): the student covers everything the teacher thinks likely.</summary>
    Forward,

    /// <summary>KL(student || teacher): the student commits to the teacher's main modes.</summary>
    Reverse,
}

internal enum TrainingPrecision
{
    Fp32,

    /// <summary>Weights, activations and optimizer state in bfloat16 (on CPU this saves memory, not time).</summary>
    Bf16,
}

/// <summary>Everything that shapes a training run; stored with each checkpoint so a resume continues the same run.</summary>
internal sealed record TrainingOptions
{
    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 8;
    public int SequenceLength { get; init; } = 128;
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 3e-3;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public double WeightDecay { get; init; } = 0.01;
    public double GradientClip { get; init; } = 1.0;
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Fp32;
    public long Seed { get; init; } = 1;

    /// <summary>Weight of the distillation term; cross-entropy gets 1 - this. Ignored without a teacher.</summary>
    public double KdWeight { get; init; } = 0.5;
    public double Temperature { get; init; } = 2.0;
    public KdDirection KdDirection { get; init; } = KdDirection.Forward;

    /// <summary>Coefficient of the MoE load-balancing loss (0 turns it off).</summary>
    public double BalanceWeight { get; init; } = 0.01;

    /// <summary>DeepSeek-V3's auxiliary-loss-free balancing: step of the routing-bias update (0 turns it off).</summary>
    public double BiasUpdateRate { get; init; }

    public int CheckpointEvery { get; init; } = 100;
    public int LogEvery { get; init; } = 10;

    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok)
                throw new ArgumentException(message);
        }
        Require(Steps >= 1, "--steps must be at least 1.");
        Require(BatchSize >= 1, "--batch-size must be at least 1.");
        Require(SequenceLength >= 2, "--seq-len must be at least 2.");
        Require(GradientAccumulation >= 1, "--grad-accum must be at least 1.");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), "--lr must be a positive number.");
        Require(MinLearningRateRatio is >= 0 and <= 1, "--min-lr-ratio must be between 0 and 1.");
        Require(WarmupSteps >= 0 && WarmupSteps < Steps, "--warmup must be at least 0 and below --steps.");
        Require(WeightDecay >= 0, "--weight-decay must not be negative.");
        Require(GradientClip > 0, "--clip must be positive.");
        Require(KdWeight is >= 0 and <= 1, "--kd-weight must be between 0 and 1.");
        Require(Temperature > 0, "--temperature must be positive.");
        Require(BalanceWeight >= 0 && BiasUpdateRate >= 0, "--balance-weight and --bias-update-rate must not be negative.");
        Require(CheckpointEvery >= 1 && LogEvery >= 1, "--checkpoint-every and --log-every must be at least 1.");
    }
}
