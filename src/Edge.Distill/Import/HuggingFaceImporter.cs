using System.Diagnostics;
using System.Text.Json;
using Edge.Distill.Checkpoints;
using Edge.Distill.Export;
using Edge.Distill.Quantization;
using Edge.Distill.Reporting;
using Edge.Runtime.Packaging;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Import;

/// <summary>What `edge-distill import` was asked for.</summary>
/// <param name="ContextLength">Positions the package serves (its cache capacity): the config's own context, capped here because every slot reserves it.</param>
internal sealed record ImportRequest(string From, string Out, QuantizationPlan? Quantization, int ContextLength, string Name, string Version)
{
    /// <summary>No --quantize given: a GGUF keeps the precision its weights are stored in (Q4_0 as int4, Q8_0 as int8); a Hugging Face folder stays fp32.</summary>
    public bool QuantizeAsStored { get; init; }

    /// <summary>MatMulNBits accuracy_level for the quantized package (0 or 4).</summary>
    public int AccuracyLevel { get; init; }
}

/// <summary>
/// A Hugging Face folder to a model package the daemon serves: config checked field by field,
/// every tensor checked by name and shape before anything is converted, then the decoder written
/// tensor by tensor with its weights as memory-mappable external data, the tokenizer, chat
/// template and generation defaults carried over, provenance in the manifest, the smoke test taken,
/// and, when asked, the weights quantized.
/// </summary>
internal static class HuggingFaceImporter
{
    public const string DefaultName = "imported";
    private static readonly string[] CarriedFiles = ["tokenizer.json", "tokenizer_config.json", "generation_config.json", "config.json"];

    public static ModelManifest Import(ImportRequest request)
    {
        PackageOutput.RefuseOverlap(request.Out, request.From, "--from");
        if (File.Exists(request.From))
            return GgufImporter.Import(request);
        var config = HuggingFaceConfig.Read(Path.Combine(request.From, "config.json"));
        foreach (string required in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            if (!File.Exists(Path.Combine(request.From, required)))
                throw new FileNotFoundException($"{request.From} has no {required}; the package needs the model's own tokenizer.");
        }
        int layers = config.DeepSeek?.NumHiddenLayers ?? config.Dense!.NumHiddenLayers;
        bool tied = config.DeepSeek?.TieWordEmbeddings ?? config.Dense!.TieWordEmbeddings;
        using var weights = HuggingFaceWeights.Open(request.From, name => IsSkipped(name, layers, tied), config.Fp8BlockSize);
        var progress = new ImportProgress(weights.StoredBytes);
        weights.Read += progress.Add;
        var source = new ModelSource("huggingface", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.From))), config.ModelType, string.Join("+", weights.Dtypes),
            weights.Dtypes.Contains("F8_E4M3") ? "fp8 dequantized exactly with its 128x128 block scales to fp32" : "converted to fp32");
        return WritePackage(config, weights, request.From, source, request);
    }

    /// <summary>
    /// The package from a checked config and its weights: every tensor checked by name and shape, the
    /// decoder written with external data, <paramref name="files"/>' tokenizer, template and generation
    /// files carried over, the manifest with its provenance and smoke test, then quantized when asked.
    /// Written beside the output and moved into place, so a failure leaves nothing behind.
    /// </summary>
    internal static ModelManifest WritePackage(HuggingFaceConfig config, CheckpointWeights weights, string files, ModelSource source, ImportRequest request)
    {
        var tokenizer = ModelTokenizer.Load(files); // refuses a tokenizer the runtime cannot run, before any conversion
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new InvalidDataException($"the tokenizer has {tokenizer.VocabularySize} tokens but the model only {config.VocabSize} embedding rows.");
        CheckTensors(config, weights);

        string staging = request.Out + ".importing";
        if (Directory.Exists(staging))
            Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        try
        {
            int context = Math.Min(request.ContextLength, config.MaxPositionEmbeddings);
            string decoder = Path.Combine(staging, PackageExporter.DecoderFile);
            DecoderShape shape;
            if (config.DeepSeek is { } deepSeek)
            {
                DeepSeekV3OnnxExporter.Export(deepSeek, weights, decoder, CacheLayout.Shared, externalData: true);
                shape = new DecoderShape(deepSeek.ModelType, context, deepSeek.VocabSize, deepSeek.BosTokenId, StopIds(files, [deepSeek.EosTokenId]), deepSeek.PadTokenId,
                    deepSeek.HiddenSize, deepSeek.NumHiddenLayers, deepSeek.NumAttentionHeads, deepSeek.NumKeyValueHeads, deepSeek.QkHeadDim,
                    DeepSeekV3OnnxExporter.LatentCache, DeepSeekV3OnnxExporter.RopeKeyCache);
            }
            else
            {
                var dense = config.Dense!;
                DenseOnnxExporter.Export(dense, weights, decoder, CacheLayout.Shared, externalData: true);
                shape = new DecoderShape(dense.ModelType, context, dense.VocabSize, dense.BosTokenId, StopIds(files, dense.EosTokenIds), dense.PadTokenId,
                    dense.HiddenSize, dense.NumHiddenLayers, dense.NumAttentionHeads, dense.NumKeyValueHeads, dense.HeadDim,
                    DenseOnnxExporter.KeyCache, DenseOnnxExporter.ValueCache);
            }
            ImportProgress.Done();
            foreach (string file in CarriedFiles.Where(f => File.Exists(Path.Combine(files, f))))
                File.Copy(Path.Combine(files, file), Path.Combine(staging, file));
            File.WriteAllText(Path.Combine(staging, GenAiConfig.FileName), ModelPackage.Serialize(PackageExporter.GenAi(shape, CacheLayout.Shared)));

            var manifest = ModelPackage.WriteManifest(staging, listed => Describe(config, shape, request, listed, source));
            if (request.Quantization is { } plan)
            {
                plan = plan with { AccuracyLevel = request.AccuracyLevel };
                // Only the package that ships is loaded for its smoke test: loading the fp32 staging
                // copy too would need all of its weights in memory (7 GB at 1.5B, 28 GB at 7B).
                string quantizedStaging = request.Out + ".quantizing";
                var (quantized, _) = PackageQuantizer.Quantize(staging, quantizedStaging, plan);
                Directory.Delete(staging, recursive: true);
                staging = quantizedStaging;
                manifest = quantized;
            }
            else
            {
                manifest = PackageExporter.WithSmokeTest(staging, manifest);
            }
            if (Directory.Exists(request.Out))
                Directory.Delete(request.Out, recursive: true);
            Directory.Move(staging, request.Out);
            return manifest;
        }
        catch
        {
            foreach (string partial in new[] { staging, request.Out + ".quantizing" }.Where(Directory.Exists))
                Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    /// <summary>DeepSeek-V3's multi-token-prediction layers (past num_hidden_layers) are not part of the decoder; a tied model's lm_head copy is not needed.</summary>
    private static bool IsSkipped(string name, int layers, bool tied)
    {
        if (tied && name == "lm_head.weight")
            return true;
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
            return false;
        int end = name.IndexOf('.', prefix.Length);
        return end > 0 && int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), out int layer) && layer >= layers;
    }

    private static void CheckTensors(HuggingFaceConfig config, CheckpointWeights weights)
    {
        var expected = ExpectedTensors.For(config);
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"the checkpoint lacks {missing.Count} tensor(s) the config needs: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")} (a missing shard, or a config that does not match).");
        if (unexpected.Count > 0)
            throw new InvalidDataException($"the checkpoint has {unexpected.Count} tensor(s) the config does not explain: {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", ..." : "")}.");
        foreach (var (name, shape) in expected)
        {
            long[] actual = weights.ShapeOf(name);
            if (!actual.SequenceEqual(shape))
                throw new InvalidDataException($"'{name}' has shape [{string.Join(", ", actual)}]; the config needs [{string.Join(", ", shape)}].");
        }
    }

    /// <summary>Stop ids: the config's eos, and generation_config.json's (Llama 3.1 lists several).</summary>
    private static IReadOnlyList<int> StopIds(string folder, IReadOnlyList<int> configEos)
    {
        var ids = new List<int>(configEos);
        string path = Path.Combine(folder, "generation_config.json");
        if (File.Exists(path))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.TryGetProperty("eos_token_id", out var eos))
            {
                if (eos.ValueKind == JsonValueKind.Number)
                    ids.Add(eos.GetInt32());
                else if (eos.ValueKind == JsonValueKind.Array)
                    ids.AddRange(eos.EnumerateArray().Select(e => e.GetInt32()));
            }
        }
        return [.. ids.Distinct()];
    }

    private static ModelManifest Describe(HuggingFaceConfig config, DecoderShape shape, ImportRequest request, IReadOnlyList<PackageFile> files, ModelSource source)
    {
        var (total, active, attention) = config.DeepSeek is { } d
            ? (PackageExporter.ParameterCounts(d).Total, PackageExporter.ParameterCounts(d).Active, $"MLA (kv_lora_rank {d.KvLoraRank}, rope dim {d.QkRopeHeadDim}{(d.Yarn is null ? "" : ", YaRN")})")
            : (DenseParameters(config.Dense!), DenseParameters(config.Dense!), $"GQA ({config.Dense!.NumAttentionHeads} query heads, {config.Dense.NumKeyValueHeads} key/value heads of {config.Dense.HeadDim})");
        return new ModelManifest
        {
            Name = request.Name,
            Version = request.Version,
            Created = DateTimeOffset.UtcNow,
            Architecture = new ArchitectureSummary
            {
                ModelType = config.ModelType,
                HiddenSize = shape.HiddenSize,
                NumHiddenLayers = shape.Layers,
                VocabSize = shape.VocabSize,
                ContextLength = shape.ContextLength,
                Parameters = total,
                ActiveParametersPerToken = active,
                RoutedExperts = config.DeepSeek?.NRoutedExperts,
                ExpertsPerToken = config.DeepSeek?.NumExpertsPerTok,
                Attention = attention,
            },
            Quantization = "none (fp32)",
            Files = files,
            MinRuntimeVersion = "0.1.0",
            Source = source,
        };
    }

    private static long DenseParameters(Modeling.DenseDecoderConfig c)
    {
        long h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim;
        long attention = 2 * h * q + 2 * h * kv + (c.QkvBias ? q + 2 * kv : 0);
        long layer = attention + 3 * h * c.IntermediateSize + 2 * h;
        return c.VocabSize * h * (c.TieWordEmbeddings ? 1 : 2) + h + c.NumHiddenLayers * layer;
    }

    /// <summary>Bytes converted and time left, on stderr.</summary>
    internal sealed class ImportProgress(long total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _done;

        public void Add(long bytes)
        {
            _done += bytes;
            double seconds = _clock.Elapsed.TotalSeconds;
            double left = _done > 0 ? seconds * (total - _done) / _done : 0;
            int width = 30, filled = total > 0 ? (int)(width * Math.Min(1.0, (double)_done / total)) : width;
            Progress.Report($"import [{new string('#', filled)}{new string('.', width - filled)}] {_done / 1e6:F0}/{total / 1e6:F0} MB, {seconds:F0} s, about {left:F0} s left");
        }

        public static void Done() => Progress.Done();
    }
}
