using System.Text.Json;
using Edge.Distill.Modeling;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// A Hugging Face config.json read for import: the architecture by model_type, and every field
/// checked against what the importer understands. A field it does not know, or a value it cannot
/// honour (sliding-window attention, an MLP bias, an unknown RoPE scaling), is refused by name:
/// an import that silently ignored one would serve a different model.
/// </summary>
internal sealed record HuggingFaceConfig(string ModelType, DeepSeekV3Config? DeepSeek, DenseDecoderConfig? Dense, int Fp8BlockSize, int MtpLayers)
{
    public static readonly string[] ModelTypes = ["deepseek_v3", "deepseek_v2", "qwen2", "llama"];

    // Metadata and training-only fields that do not change what the model computes.
    private static readonly string[] Ignored =
    [
        "architectures", "auto_map", "transformers_version", "torch_dtype", "dtype", "use_cache", "initializer_range",
        "attention_dropout", "_name_or_path", "model_type", "bos_token_id", "eos_token_id", "pad_token_id",
    ];

    private static readonly string[] DenseFields =
    [
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "head_dim", "rms_norm_eps", "rope_theta", "rope_scaling", "max_position_embeddings", "tie_word_embeddings", "hidden_act",
    ];

    private static readonly Dictionary<string, string[]> Known = new()
    {
        ["qwen2"] = [.. DenseFields, "use_sliding_window", "sliding_window", "max_window_layers", "use_mrope", "layer_types"],
        ["llama"] = [.. DenseFields, "attention_bias", "mlp_bias", "pretraining_tp"],
        ["deepseek_v2"] =
        [
            "vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "n_shared_experts", "n_routed_experts", "routed_scaling_factor", "kv_lora_rank", "q_lora_rank",
            "qk_rope_head_dim", "v_head_dim", "qk_nope_head_dim", "n_group", "topk_group", "num_experts_per_tok", "first_k_dense_replace",
            "norm_topk_prob", "scoring_func", "topk_method", "hidden_act", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
            "rope_theta", "rope_scaling", "attention_bias", "moe_layer_freq", "ep_size", "aux_loss_alpha", "seq_aux", "pretraining_tp",
        ],
    };

    static HuggingFaceConfig() => Known["deepseek_v3"] = [.. Known["deepseek_v2"], "rope_interleave", "num_nextn_predict_layers", "quantization_config"];

    public int MaxPositionEmbeddings => DeepSeek?.MaxPositionEmbeddings ?? Dense!.MaxPositionEmbeddings;

    public int VocabSize => DeepSeek?.VocabSize ?? Dense!.VocabSize;

    public static HuggingFaceConfig Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: not a Hugging Face model folder.");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        string modelType = root.TryGetProperty("model_type", out var mt) ? mt.GetString() ?? "" : "";
        if (!Known.TryGetValue(modelType, out var known))
            throw new InvalidDataException($"config.json: model_type '{modelType}' is not supported; import handles {string.Join(", ", ModelTypes)}.");
        var unknown = root.EnumerateObject().Select(p => p.Name).Where(n => !known.Contains(n) && !Ignored.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw new InvalidDataException($"config.json: field{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))} not understood for {modelType}; refusing rather than ignoring what may change the model.");

        return modelType.StartsWith("deepseek", StringComparison.Ordinal) ? ReadDeepSeek(root, modelType) : ReadDense(root, modelType);
    }

    private static HuggingFaceConfig ReadDeepSeek(JsonElement root, string modelType)
    {
        Require(Int(root, "moe_layer_freq", 1) == 1, "moe_layer_freq other than 1 is not supported.");
        Require(Int(root, "pretraining_tp", 1) == 1, "pretraining_tp other than 1 is not supported.");
        int block = 128;
        if (root.TryGetProperty("quantization_config", out var quantization))
        {
            string method = quantization.TryGetProperty("quant_method", out var m) ? m.GetString() ?? "" : "";
            string format = quantization.TryGetProperty("fmt", out var f) ? f.GetString() ?? "e4m3" : "e4m3";
            Require(method == "fp8" && format == "e4m3", $"quantization_config {method}/{format} is not supported (fp8 e4m3 with block scales is).");
            if (quantization.TryGetProperty("weight_block_size", out var sizes))
            {
                var blocks = sizes.EnumerateArray().Select(s => s.GetInt32()).ToArray();
                Require(blocks.Length == 2 && blocks[0] == blocks[1] && blocks[0] > 0, "quantization_config.weight_block_size must be square.");
                block = blocks[0];
            }
        }
        // Hugging Face's own defaults where a release leaves a field out (V2 configs lack the V3-only ones).
        // The generated deserializer does not run the record's property initializers, so the
        // config's fields are laid over a serialized default config: absent fields keep our defaults.
        var merged = System.Text.Json.Nodes.JsonNode.Parse(new DeepSeekV3Config().ToJson())!.AsObject();
        foreach (var property in root.EnumerateObject())
            merged[property.Name] = System.Text.Json.Nodes.JsonNode.Parse(property.Value.GetRawText());
        var config = merged.Deserialize(DistillJsonContext.Default.DeepSeekV3Config)!;
        if (!root.TryGetProperty("topk_method", out _))
            config = config with { TopkMethod = modelType == "deepseek_v2" ? "greedy" : "noaux_tc" };
        if (!root.TryGetProperty("scoring_func", out _))
            config = config with { ScoringFunc = modelType == "deepseek_v2" ? "softmax" : "sigmoid" };
        if (!root.TryGetProperty("norm_topk_prob", out _))
            config = config with { NormTopkProb = modelType != "deepseek_v2" };
        if (!root.TryGetProperty("n_group", out _) || root.GetProperty("n_group").ValueKind == JsonValueKind.Null)
            config = config with { NGroup = 1, TopkGroup = 1 };
        config = config with { EosTokenId = FirstEos(root) ?? config.EosTokenId };
        config.ValidateForExport();
        return new HuggingFaceConfig(modelType, config, null, block, Int(root, "num_nextn_predict_layers", 0));
    }

    private static HuggingFaceConfig ReadDense(JsonElement root, string modelType)
    {
        Require(Str(root, "hidden_act", "silu") == "silu", $"hidden_act '{Str(root, "hidden_act", "")}' is not supported (silu is).");
        if (modelType == "qwen2")
        {
            Require(!Bool(root, "use_sliding_window", false), "use_sliding_window true is not supported (sliding-window attention).");
            Require(!Bool(root, "use_mrope", false), "use_mrope true is not supported (multimodal RoPE).");
            if (root.TryGetProperty("layer_types", out var types))
                Require(types.EnumerateArray().All(t => t.GetString() == "full_attention"), "layer_types other than full_attention are not supported.");
        }
        else
        {
            Require(!Bool(root, "mlp_bias", false), "mlp_bias true is not supported.");
            Require(Int(root, "pretraining_tp", 1) == 1, "pretraining_tp other than 1 is not supported.");
        }
        Llama3RopeScaling? scaling = null;
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind == JsonValueKind.Object)
        {
            string type = rs.TryGetProperty("rope_type", out var t) ? t.GetString() ?? "" : rs.TryGetProperty("type", out var t2) ? t2.GetString() ?? "" : "";
            Require(type == "llama3", $"rope_scaling type '{type}' is not supported for {modelType} (llama3 is).");
            scaling = Llama3RopeScaling.Read(rs);
        }
        int hidden = Int(root, "hidden_size"), heads = Int(root, "num_attention_heads");
        int kvHeads = Int(root, "num_key_value_heads", heads);
        Require(heads > 0, "num_attention_heads must be positive.");
        int headDim = root.TryGetProperty("head_dim", out var hd) && hd.ValueKind == JsonValueKind.Number ? hd.GetInt32() : hidden / heads;
        var dense = new DenseDecoderConfig
        {
            ModelType = modelType,
            VocabSize = Int(root, "vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Int(root, "intermediate_size"),
            NumHiddenLayers = Int(root, "num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = (float)Number(root, "rms_norm_eps", 1e-6),
            RopeTheta = Number(root, "rope_theta", 10000),
            MaxPositionEmbeddings = Int(root, "max_position_embeddings"),
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", false),
            QkvBias = modelType == "qwen2" || Bool(root, "attention_bias", false),
            RopeScaling = scaling,
            BosTokenId = root.TryGetProperty("bos_token_id", out var bos) && bos.ValueKind == JsonValueKind.Number ? bos.GetInt32() : null,
            EosTokenIds = EosList(root),
            PadTokenId = root.TryGetProperty("pad_token_id", out var pad) && pad.ValueKind == JsonValueKind.Number ? pad.GetInt32() : null,
        };
        dense.Validate("config.json");
        return new HuggingFaceConfig(modelType, null, dense, 128, 0);
    }

    private static int? FirstEos(JsonElement root) => EosList(root) is [var first, ..] ? first : null;

    private static IReadOnlyList<int> EosList(JsonElement root) => root.TryGetProperty("eos_token_id", out var eos) ? eos.ValueKind switch
    {
        JsonValueKind.Number => [eos.GetInt32()],
        JsonValueKind.Array => [.. eos.EnumerateArray().Select(e => e.GetInt32())],
        _ => [],
    } : [];

    private static void Require(bool condition, string message)
    {
        if (!condition)
            throw new InvalidDataException($"config.json: {message}");
    }

    private static int Int(JsonElement root, string name, int? fallback = null)
    {
        if (root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number)
            return v.TryGetInt32(out int i) ? i : throw new InvalidDataException($"config.json: {name} is not a 32-bit integer.");
        return fallback ?? throw new InvalidDataException($"config.json: {name} is missing.");
    }

    private static double Number(JsonElement root, string name, double fallback) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;

    private static bool Bool(JsonElement root, string name, bool fallback) =>
        root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    private static string Str(JsonElement root, string name, string fallback) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : fallback;
}
