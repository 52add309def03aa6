using Edge.Distill.Checkpoints;
using System.Text.Json.Nodes;
using Edge.Distill.Gguf;
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
            var source = new ModelSource("gguf", Path.GetFileName(request.From), gguf.Get("general.architecture")!.AsString(), types,
                weights.StoredTypes.All(t => t is "F32") ? "copied as fp32" : $"dequantized from {types} to fp32"
                    + (request.Quantization is null ? "" : ", then re-quantized as the manifest's quantization says (no MatMulNBits layout is mapped directly yet)"));
            File.WriteAllText(Path.Combine(files, "config.json"), ConfigJson(config).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return HuggingFaceImporter.WritePackage(config, weights, files, source, request);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

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
