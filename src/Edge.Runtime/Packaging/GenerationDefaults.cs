using System.Text.Json;

namespace Edge.Runtime.Packaging;

/// <summary>
/// The sampling a model's authors chose, from the package's generation_config.json (Hugging
/// Face's file, carried over by import): used for every sampling parameter a request leaves out.
/// As in transformers, "do_sample": false means greedy whatever else the file says, and with
/// "do_sample": true a missing temperature, top_p or top_k is 1.0, 1.0 or 50. Without the file the
/// defaults are greedy.
/// </summary>
public sealed record GenerationDefaults(float Temperature, float TopP, int TopK, float RepetitionPenalty)
{
    public const string FileName = "generation_config.json";

    public static readonly GenerationDefaults Greedy = new(0f, 1f, 0, 1f);

    /// <summary>The request parameters these defaults stand in for, in the OpenAI API's spelling.</summary>
    public static readonly IReadOnlyList<string> Parameters = ["temperature", "top_p", "top_k", "repetition_penalty"];

    /// <exception cref="ModelLoadException">The file is malformed or holds a value no sampler accepts.</exception>
    public static GenerationDefaults Read(string packageDirectory)
    {
        string path = Path.Combine(packageDirectory, FileName);
        if (!File.Exists(path))
            return Greedy;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException($"{path} must hold a JSON object.");
            bool sample = root.TryGetProperty("do_sample", out var doSample) && doSample.ValueKind == JsonValueKind.True;
            float repetition = Number(root, path, "repetition_penalty", 1f, v => v > 0 && v <= 100);
            if (!sample)
                return Greedy with { RepetitionPenalty = repetition };
            return new GenerationDefaults(
                Number(root, path, "temperature", 1f, v => v >= 0 && v <= 100),
                Number(root, path, "top_p", 1f, v => v > 0 && v <= 1),
                (int)Number(root, path, "top_k", 50f, v => v >= 0 && v <= int.MaxValue / 2 && v == MathF.Floor(v)),
                repetition);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is malformed: {e.Message}", e);
        }
    }

    private static float Number(JsonElement root, string path, string name, float fallback, Func<float, bool> valid)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return fallback;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number) || !valid((float)number))
            throw new ModelLoadException($"{path}: {name} is {value.GetRawText()}, which is not a usable {name}.");
        return (float)number;
    }
}
