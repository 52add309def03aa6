using System.Globalization;

namespace Edge.Distill.Training;

/// <summary>One line of a run's training/log.csv.</summary>
internal sealed record TrainingLogEntry(int Step, double LearningRate, double Loss, double CrossEntropy, double Distillation, double Balance, double GradientNorm, double TokensPerSecond);

/// <summary>The loss curve a run writes as it trains: where it lives and how it reads back.</summary>
internal static class TrainingLog
{
    public const string Header = "step,learning_rate,loss,cross_entropy,distillation,balance,grad_norm,tokens_per_second";

    public static string PathOf(string output) => Path.Combine(TrainingCheckpoints.Root(output), "log.csv");

    public static IReadOnlyList<TrainingLogEntry> Read(string output)
    {
        string path = PathOf(output);
        if (!File.Exists(path))
            throw new InvalidDataException($"{output} has no training/log.csv: not a training run folder (what `train --out` writes).");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != Header)
            throw new InvalidDataException($"{path} is not a training log (its first line should be '{Header}').");
        return [.. lines.Skip(1).Select((line, index) => Parse(line, path, index + 2))];
    }

    private static TrainingLogEntry Parse(string line, string path, int lineNumber)
    {
        var cells = line.Split(',');
        if (cells.Length != 8 || !int.TryParse(cells[0], CultureInfo.InvariantCulture, out int step))
            throw new InvalidDataException($"{path}:{lineNumber}: expected 8 comma-separated values, got '{line}'.");
        double D(int i) => double.TryParse(cells[i], CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new InvalidDataException($"{path}:{lineNumber}: '{cells[i]}' is not a number.");
        return new TrainingLogEntry(step, D(1), D(2), D(3), D(4), D(5), D(6), D(7));
    }
}
