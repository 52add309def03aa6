using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Distill.Checkpoints;
using Edge.Distill.Modeling;
using TorchSharp.Modules;

namespace Edge.Distill.Training;

/// <summary>Where a run stands: the next step to run, what it trains on, and the options it runs with.</summary>
internal sealed record TrainingState(int Step, long TokensSeen, TrainingOptions Options, string DataSha256, string? Teacher, double Loss);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(TrainingState))]
internal sealed partial class TrainingJsonContext : JsonSerializerContext;

/// <summary>
/// Checkpoints of a run under <c>&lt;out&gt;/training/step-NNNNNNN</c>: the weights (a checkpoint
/// folder export reads), the optimizer state and <c>state.json</c>. Each is written into a
/// <c>.partial</c> folder and renamed when complete, so a crash never leaves a half checkpoint that
/// a resume would take; the newest two are kept.
/// </summary>
internal static class TrainingCheckpoints
{
    public const string StateFile = "state.json";
    public const string OptimizerFile = "optimizer.bin";
    private const string Prefix = "step-";

    public static string Root(string output) => Path.Combine(output, "training");

    public static string Save(string output, DeepSeekV3ForCausalLM model, AdamW optimizer, TrainingState state, string tokenizerDirectory)
    {
        string root = Root(output);
        string folder = Path.Combine(root, $"{Prefix}{state.Step:D7}");
        string partial = folder + ".partial";
        if (Directory.Exists(partial))
            Directory.Delete(partial, recursive: true);
        Checkpoint.Save(model, partial, tokenizerDirectory);
        optimizer.save_state_dict(Path.Combine(partial, OptimizerFile));
        File.WriteAllBytes(Path.Combine(partial, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, TrainingJsonContext.Default.TrainingState));
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.Move(partial, folder);
        foreach (string old in Complete(root).Skip(2))
            Directory.Delete(old, recursive: true);
        return folder;
    }

    /// <summary>The newest complete checkpoint of a run, or null.</summary>
    public static string? Latest(string output) => Complete(Root(output)).FirstOrDefault();

    public static TrainingState ReadState(string checkpoint)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(checkpoint, StateFile)), TrainingJsonContext.Default.TrainingState)
                ?? throw new InvalidDataException($"{checkpoint}/{StateFile} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{checkpoint}/{StateFile} is not a training state: {e.Message}");
        }
    }

    private static IEnumerable<string> Complete(string root) => !Directory.Exists(root)
        ? []
        : Directory.EnumerateDirectories(root, Prefix + "*")
            .Where(d => !d.EndsWith(".partial", StringComparison.Ordinal) && File.Exists(Path.Combine(d, StateFile)))
            .OrderDescending(StringComparer.Ordinal);
}
