namespace Edge.Distill.Training;

/// <summary>Linear warm-up to the peak rate, then cosine decay to min_ratio x peak at the last step.</summary>
internal static class LearningRateSchedule
{
    public static double At(int step, TrainingOptions options)
    {
        double peak = options.LearningRate;
        if (step < options.WarmupSteps)
            return peak * (step + 1) / options.WarmupSteps;
        int decaySteps = Math.Max(1, options.Steps - options.WarmupSteps - 1);
        double progress = Math.Min(1.0, (double)(step - options.WarmupSteps) / decaySteps);
        double floor = peak * options.MinLearningRateRatio;
        return floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
