using Edge.Distill.Checkpoints;

namespace Edge.Distill.Gguf;

/// <summary>`export --format gguf`: any checkpoint folder import understands (our students included) as one GGUF file.</summary>
internal static class CheckpointGgufExporter
{
    /// <returns>llama.cpp's architecture name for the file.</returns>
    public static string Export(string checkpoint, string path, GgufWeightType type, string name)
    {
        Edge.Distill.Export.PackageOutput.RefuseOverlap(path, checkpoint, "--checkpoint");
        if (File.Exists(path) && !GgufWriter.IsGguf(path))
            throw new ArgumentException($"--out {path} exists and is not a GGUF file (a checkpoint's own weights?); it would be replaced. Write somewhere else.");
        var config = HuggingFaceConfig.Read(Path.Combine(checkpoint, "config.json"));
        int layers = config.DeepSeek?.NumHiddenLayers ?? config.Dense!.NumHiddenLayers;
        bool tied = config.DeepSeek?.TieWordEmbeddings ?? config.Dense!.TieWordEmbeddings;
        using var weights = HuggingFaceWeights.Open(checkpoint, n => n.StartsWith("model.layers.", StringComparison.Ordinal) && LayerOf(n) >= layers || tied && n == "lm_head.weight", config.Fp8BlockSize);
        if (config.DeepSeek is { } deepSeek)
        {
            DeepSeekGgufExporter.Build(deepSeek, weights, checkpoint, type, name).Write(path);
            return DeepSeekGgufExporter.Architecture;
        }
        DenseGgufExporter.Build(config.Dense!, weights, checkpoint, type, name).Write(path);
        return DenseGgufExporter.ArchitectureOf(config.Dense!);
    }

    private static int LayerOf(string name)
    {
        int start = "model.layers.".Length, end = name.IndexOf('.', start);
        return end > start && int.TryParse(name.AsSpan(start, end - start), out int layer) ? layer : -1;
    }
}
