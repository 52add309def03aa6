using Edge.Distill.Checkpoints;
using Edge.Distill.Gguf;
using Edge.Distill.Modeling;

namespace Edge.Distill.Import;

/// <summary>
/// The architecture a GGUF file describes in its metadata (general.architecture and the
/// arch-prefixed hyperparameters llama.cpp reads), as the config import works from. Only
/// deepseek2, qwen2 and llama are read; anything else is refused by name.
/// </summary>
internal static class GgufConfig
{
    public static readonly string[] Architectures = ["deepseek2", "qwen2", "llama"];

    public static HuggingFaceConfig Read(GgufReader gguf)
    {
        string arch = gguf.Get("general.architecture")?.AsString() ?? "(none)";
        if (!Architectures.Contains(arch))
            throw new InvalidDataException($"{gguf.Path}: general.architecture '{arch}' is not supported ({string.Join(", ", Architectures)} are).");
        long Int(string key, long? fallback = null)
        {
            if (gguf.Get($"{arch}.{key}") is { } value)
            {
                long v = value.AsInteger();
                return v is >= 0 and <= int.MaxValue ? v : throw new InvalidDataException($"{gguf.Path}: {arch}.{key} = {v} is out of range.");
            }
            return fallback ?? throw new InvalidDataException($"{gguf.Path} has no {arch}.{key}.");
        }
        double Number(string key, double fallback) => gguf.Get($"{arch}.{key}")?.AsNumber() ?? fallback;
        int vocabulary = (int)Int("vocab_size", gguf.Get("tokenizer.ggml.tokens")?.AsStrings().Length ?? 0);
        int hidden = (int)Int("embedding_length"), layers = (int)Int("block_count"), heads = (int)Int("attention.head_count");
        bool tied = !gguf.Tensors.ContainsKey("output.weight");
        int? TokenId(string key) => gguf.Get(key) is { } id
            ? id.AsInteger() is >= 0 and <= int.MaxValue and var v ? (int)v : throw new InvalidDataException($"{gguf.Path}: {key} = {id.AsInteger()} is not a token id.")
            : null;
        int? bos = TokenId("tokenizer.ggml.bos_token_id"), eos = TokenId("tokenizer.ggml.eos_token_id"), pad = TokenId("tokenizer.ggml.padding_token_id");
        int context = (int)Int("context_length");
        if (vocabulary <= 0 || hidden <= 0 || layers <= 0 || heads <= 0)
            throw new InvalidDataException($"{gguf.Path}: vocabulary, embedding_length, block_count and head_count must be positive.");

        if (arch != "deepseek2")
        {
            int kvHeads = (int)Int("attention.head_count_kv", heads);
            int headDim = (int)Int("attention.key_length", hidden / heads);
            var dense = new DenseDecoderConfig
            {
                ModelType = arch,
                VocabSize = vocabulary,
                HiddenSize = hidden,
                IntermediateSize = (int)Int("feed_forward_length"),
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                NumKeyValueHeads = kvHeads,
                HeadDim = headDim,
                RmsNormEps = (float)Number("attention.layer_norm_rms_epsilon", 1e-6),
                RopeTheta = Number("rope.freq_base", 10000),
                MaxPositionEmbeddings = context,
                TieWordEmbeddings = tied,
                QkvBias = gguf.Tensors.ContainsKey("blk.0.attn_q.bias"),
                RopeFrequencyFactors = gguf.Tensors.TryGetValue("rope_freqs.weight", out var freqs) ? gguf.ReadFloats(freqs) : null,
                BosTokenId = bos,
                EosTokenIds = eos is int id ? [id] : [],
                PadTokenId = pad,
            };
            dense.Validate(gguf.Path);
            return new HuggingFaceConfig(arch, null, dense, 128, 0);
        }

        int kvRank = (int)Int("attention.kv_lora_rank"), rope = (int)Int("rope.dimension_count");
        int qkHead = (int)Int("attention.key_length_mla", Int("attention.key_length") - kvRank);
        int vHead = (int)Int("attention.value_length_mla", Int("attention.value_length"));
        int qRank = (int)Int("attention.q_lora_rank", 0);
        long gating = Int("expert_gating_func", 0);
        int groups = (int)Int("expert_group_count", 1), groupsUsed = (int)Int("expert_group_used_count", 1);
        bool sigmoid = gating == 2;
        bool bias = gguf.Tensors.ContainsKey($"blk.{Int("leading_dense_block_count", 0)}.exp_probs_b.bias");
        string? scalingType = gguf.Get($"{arch}.rope.scaling.type")?.AsString();
        if (scalingType is not (null or "none" or "yarn"))
            throw new InvalidDataException($"{gguf.Path}: rope scaling '{scalingType}' is not supported for deepseek2 (yarn is).");
        System.Text.Json.JsonElement? yarn = null;
        if (scalingType == "yarn")
        {
            // llama.cpp's converter stores 0.1 x mscale_all_dim; DeepSeek's releases set mscale equal to it.
            double mscaleAllDim = Number("rope.scaling.yarn_log_multiplier", 0) / 0.1;
            var scaling = new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = "yarn",
                ["factor"] = Number("rope.scaling.factor", 1),
                ["original_max_position_embeddings"] = Int("rope.scaling.original_context_length"),
                ["beta_fast"] = Number("rope.scaling.yarn_beta_fast", 32),
                ["beta_slow"] = Number("rope.scaling.yarn_beta_slow", 1),
                ["mscale"] = mscaleAllDim,
                ["mscale_all_dim"] = mscaleAllDim,
            };
            yarn = System.Text.Json.JsonDocument.Parse(scaling.ToJsonString()).RootElement.Clone();
        }
        var config = new DeepSeekV3Config
        {
            // Sigmoid routing with a selection bias is V3's; softmax is V2's.
            ModelType = sigmoid ? "deepseek_v3" : "deepseek_v2",
            VocabSize = vocabulary,
            HiddenSize = hidden,
            IntermediateSize = (int)Int("feed_forward_length"),
            MoeIntermediateSize = (int)Int("expert_feed_forward_length"),
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = heads,
            NSharedExperts = (int)Int("expert_shared_count", 0),
            NRoutedExperts = (int)Int("expert_count"),
            RoutedScalingFactor = (float)Number("expert_weights_scale", 1),
            KvLoraRank = kvRank,
            QLoraRank = qRank > 0 ? qRank : null,
            QkRopeHeadDim = rope,
            QkNopeHeadDim = qkHead - rope,
            VHeadDim = vHead,
            NGroup = groups,
            TopkGroup = groupsUsed,
            NumExpertsPerTok = (int)Int("expert_used_count"),
            FirstKDenseReplace = (int)Int("leading_dense_block_count", 0),
            NormTopkProb = gguf.Get($"{arch}.expert_weights_norm")?.AsBool() ?? false,
            ScoringFunc = sigmoid ? "sigmoid" : "softmax",
            TopkMethod = sigmoid && bias ? "noaux_tc" : groups > 1 ? "group_limited_greedy" : "greedy",
            MaxPositionEmbeddings = context,
            RmsNormEps = (float)Number("attention.layer_norm_rms_epsilon", 1e-6),
            BosTokenId = bos ?? 0,
            EosTokenId = eos ?? 1,
            PadTokenId = pad,
            TieWordEmbeddings = tied,
            RopeTheta = (float)Number("rope.freq_base", 10000),
            RopeScaling = yarn,
            RopeInterleave = true,
        };
        config.ValidateForExport();
        return new HuggingFaceConfig(config.ModelType, config, null, 128, 0);
    }
}
