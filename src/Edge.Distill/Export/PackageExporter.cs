using System.Text.Json;
using Edge.Distill.Checkpoints;
using Edge.Distill.Modeling;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Export;

/// <summary>Writes the model package of DESIGN.md from a checkpoint, smoke test included.</summary>
internal static class PackageExporter
{
    public const string DecoderFile = "model.onnx";
    public const string SmokePrompt = "The machine status is";
    public const int SmokeTokens = 8;

    public static ModelManifest Export(string checkpointDirectory, string packageDirectory, string name, string version, CacheLayout layout = CacheLayout.Shared)
    {
        PackageOutput.RefuseOverlap(packageDirectory, checkpointDirectory, "--checkpoint");
        var config = DeepSeekV3Config.Load(Path.Combine(checkpointDirectory, DeepSeekV3Config.FileName));
        var weights = Safetensors.Read(Path.Combine(checkpointDirectory, Checkpoint.WeightsFile));
        if (Directory.Exists(packageDirectory))
            Directory.Delete(packageDirectory, recursive: true);
        Directory.CreateDirectory(packageDirectory);

        DeepSeekV3OnnxExporter.Export(config, weights, Path.Combine(packageDirectory, DecoderFile), layout);
        config.Save(Path.Combine(packageDirectory, DeepSeekV3Config.FileName));
        Checkpoint.CopyTokenizer(checkpointDirectory, packageDirectory);
        File.WriteAllText(Path.Combine(packageDirectory, "generation_config.json"), GenerationConfig(config));
        File.WriteAllText(Path.Combine(packageDirectory, GenAiConfig.FileName), ModelPackage.Serialize(GenAi(config, layout)));

        var manifest = ModelPackage.WriteManifest(packageDirectory, files => Describe(config, name, version, files));
        return WithSmokeTest(packageDirectory, manifest);
    }

    /// <summary>
    /// Records what this exact package produces greedily as its smoke test (a device re-checks it
    /// before serving an update) and writes the manifest.
    /// </summary>
    public static ModelManifest WithSmokeTest(string packageDirectory, ModelManifest manifest)
    {
        using (var engine = InferenceEngine.Load(packageDirectory))
        {
            var result = engine.Complete(SmokePrompt, new GenerationSettings { MaxTokens = SmokeTokens, StopAtEos = false });
            manifest = manifest with { SmokeTest = new SmokeTest(SmokePrompt, result.CompletionIds) };
        }
        File.WriteAllText(Path.Combine(packageDirectory, ModelManifest.FileName), ModelPackage.Serialize(manifest));
        return manifest;
    }

    private static ModelManifest Describe(DeepSeekV3Config c, string name, string version, IReadOnlyList<PackageFile> files)
    {
        var (total, active) = ParameterCounts(c);
        return new ModelManifest
        {
            Name = name,
            Version = version,
            Created = DateTimeOffset.UtcNow,
            Architecture = new ArchitectureSummary
            {
                ModelType = c.ModelType,
                HiddenSize = c.HiddenSize,
                NumHiddenLayers = c.NumHiddenLayers,
                VocabSize = c.VocabSize,
                ContextLength = c.MaxPositionEmbeddings,
                Parameters = total,
                ActiveParametersPerToken = active,
                RoutedExperts = c.NRoutedExperts,
                ExpertsPerToken = c.NumExpertsPerTok,
                Attention = $"MLA (kv_lora_rank {c.KvLoraRank}, rope dim {c.QkRopeHeadDim}; cache holds the latent and the RoPE key)",
            },
            Quantization = "none (fp32)",
            Files = files,
            MinRuntimeVersion = "0.1.0",
        };
    }

    /// <summary>Total parameters, and those one token uses (the routed experts it is not sent to excluded).</summary>
    public static (long Total, long Active) ParameterCounts(DeepSeekV3Config c)
    {
        long h = c.HiddenSize, heads = c.NumAttentionHeads, q = c.QLoraRank ?? 0;
        long attention = h * q + q + q * heads * c.QkHeadDim + h * (c.KvLoraRank + c.QkRopeHeadDim) + c.KvLoraRank
            + c.KvLoraRank * heads * (c.QkNopeHeadDim + c.VHeadDim) + heads * c.VHeadDim * h;
        long dense = 3 * h * c.IntermediateSize;
        long expert = 3 * h * c.MoeIntermediateSize;
        long moe = c.NRoutedExperts * h + c.NRoutedExperts + (c.NRoutedExperts + c.NSharedExperts) * expert;
        long moeActive = moe - (c.NRoutedExperts - c.NumExpertsPerTok) * expert;
        long embeddings = c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2);
        int moeLayers = Math.Max(0, c.NumHiddenLayers - c.FirstKDenseReplace);
        int denseLayers = c.NumHiddenLayers - moeLayers;
        long common = embeddings + h + c.NumHiddenLayers * (attention + 2 * h) + denseLayers * dense;
        return (common + moeLayers * moe, common + moeLayers * moeActive);
    }

    private static GenAiConfig GenAi(DeepSeekV3Config c, CacheLayout layout) => GenAi(
        // MLA keeps two state tensors per layer; they take genai's key and value slots.
        new DecoderShape(c.ModelType, c.MaxPositionEmbeddings, c.VocabSize, c.BosTokenId, [c.EosTokenId], c.PadTokenId, c.HiddenSize, c.NumHiddenLayers,
            c.NumAttentionHeads, c.NumKeyValueHeads, c.QkHeadDim, DeepSeekV3OnnxExporter.LatentCache, DeepSeekV3OnnxExporter.RopeKeyCache),
        layout);

    /// <summary>genai_config.json for an exported decoder: the runtime reads the context length, special ids and cache layout from it.</summary>
    public static GenAiConfig GenAi(DecoderShape s, CacheLayout layout) => new()
    {
        Model = new GenAiModel
        {
            Type = s.ModelType,
            ContextLength = s.ContextLength,
            VocabSize = s.VocabSize,
            BosTokenId = s.BosTokenId,
            EosTokenId = s.EosTokenIds,
            PadTokenId = s.PadTokenId,
            Decoder = new GenAiDecoder
            {
                Filename = DecoderFile,
                HiddenSize = s.HiddenSize,
                NumHiddenLayers = s.Layers,
                NumAttentionHeads = s.Heads,
                NumKeyValueHeads = s.KvHeads,
                HeadSize = s.HeadSize,
                Inputs = new GenAiInputs { PastKeyNames = $"past_key_values.%d.{s.KeyCache}", PastValueNames = $"past_key_values.%d.{s.ValueCache}" },
                Outputs = new GenAiOutputs { PresentKeyNames = $"present.%d.{s.KeyCache}", PresentValueNames = $"present.%d.{s.ValueCache}" },
            },
        },
        Search = new GenAiSearch { MaxLength = s.ContextLength, PastPresentShareBuffer = layout == CacheLayout.Shared },
    };

    private static string GenerationConfig(DeepSeekV3Config c)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("bos_token_id", c.BosTokenId);
            writer.WriteNumber("eos_token_id", c.EosTokenId);
            writer.WriteBoolean("do_sample", false);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}

/// <summary>What genai_config.json says about a decoder: sizes, special ids, and the names of its two state tensors per layer.</summary>
internal sealed record DecoderShape(
    string ModelType, int ContextLength, int VocabSize, int? BosTokenId, IReadOnlyList<int> EosTokenIds, int? PadTokenId,
    int HiddenSize, int Layers, int Heads, int KvHeads, int HeadSize, string KeyCache, string ValueCache);
