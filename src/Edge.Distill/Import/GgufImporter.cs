using Edge.Distill.Checkpoints;
using System.Text.Json.Nodes;
using Edge.Distill.Gguf;
using Edge.Distill.Quantization;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Import;

/// <summary>
/// `edge-distill import --from file.gguf`: a llama.cpp/Ollama model file (GGUF v3, deepseek2,
/// qwen2 or llama) to a model package. The architecture comes from the metadata, the tokenizer
/// and chat template from tokenizer.ggml.* (written out as tokenizer.json), and every tensor is
/// dequantized to float32 (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) and converted as a Hugging
/// Face checkpoint would be; --quantize then re-quantizes. The manifest records both.
/// </summary>
internal static class GgufImporter
{
    public static ModelManifest Import(ImportRequest request)
    {
        using var gguf = GgufReader.Open(request.From);
        var config = GgufConfig.Read(gguf);
        string files = Directory.CreateTempSubdirectory("edge-gguf-import").FullName;
        try
        {
            GgufTokenizerFiles.Write(gguf, files);
            var weights = new GgufCheckpoint(gguf, config);
            var progress = new HuggingFaceImporter.ImportProgress(gguf.Tensors.Values.Sum(t => t.Bytes));
            weights.Read += progress.Add;
            string types = string.Join("+", weights.StoredTypes);
            var plan = request.QuantizeAsStored ? PlanFor(MatrixType(gguf)) : request.Quantization;
            if (plan is { Scheme: QuantizationScheme.WeightOnly })
                plan = plan with { KeepExactBlocks = true };
            var source = new ModelSource("gguf", Path.GetFileName(request.From), gguf.Get("general.architecture")!.AsString(), types,
                (weights.StoredTypes.All(t => t is "F32") ? "copied as fp32" : $"dequantized from {types} to fp32")
                    + (plan is null ? "" : plan.KeepExactBlocks
                        ? $", then INT{plan.Bits}: matrices on a Q{plan.Bits}_0 block grid carried bit for bit, the rest re-quantized (counts in the quantization field)"
                        : ", then re-quantized as the quantization field says"));
            File.WriteAllText(Path.Combine(files, "config.json"), ConfigJson(config).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return HuggingFaceImporter.WritePackage(config, weights, files, source, request with { Quantization = plan });
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    /// <summary>The type holding most of the layers' matrix bytes: what the file's author chose for the weights that matter.</summary>
    private static GgmlType MatrixType(GgufReader gguf) => gguf.Tensors.Values
        .Where(t => t.Shape.Length >= 2 && t.Name.StartsWith("blk.", StringComparison.Ordinal))
        .GroupBy(t => t.Type).MaxBy(g => g.Sum(t => t.Bytes))?.Key ?? GgmlType.F32;

    /// <summary>Keep the stored precision: 4-bit types as int4, 8- and 6-bit types as int8 (6 bits do not fit in 4), floats as fp32.</summary>
    private static QuantizationPlan? PlanFor(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q4_K => new QuantizationPlan(4, BlockQuantizer.GgmlBlock, RangeMethod.MinMax),
        GgmlType.Q8_0 or GgmlType.Q6_K => new QuantizationPlan(8, BlockQuantizer.GgmlBlock, RangeMethod.MinMax),
        _ => null,
    };

    /// <summary>The Hugging Face config.json the GGUF's metadata amounts to, kept in the package for reference.</summary>
    private static JsonNode ConfigJson(HuggingFaceConfig config)
    {
        if (config.DeepSeek is { } deepSeek)
            return JsonNode.Parse(deepSeek.ToJson())!;
        var d = config.Dense!;
        return new JsonObject
        {
            ["model_type"] = d.ModelType, ["vocab_size"] = d.VocabSize, ["hidden_size"] = d.HiddenSize, ["intermediate_size"] = d.IntermediateSize,
            ["num_hidden_layers"] = d.NumHiddenLayers, ["num_attention_heads"] = d.NumAttentionHeads, ["num_key_value_heads"] = d.NumKeyValueHeads,
            ["head_dim"] = d.HeadDim, ["rms_norm_eps"] = d.RmsNormEps, ["rope_theta"] = d.RopeTheta, ["max_position_embeddings"] = d.MaxPositionEmbeddings,
            ["tie_word_embeddings"] = d.TieWordEmbeddings, ["bos_token_id"] = d.BosTokenId, ["eos_token_id"] = d.EosTokenIds.Count > 0 ? d.EosTokenIds[0] : null,
        };
    }
}
