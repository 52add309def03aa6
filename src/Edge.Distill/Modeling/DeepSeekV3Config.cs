using System.Text.Json;
using System.Text.Json.Serialization;

namespace Edge.Distill.Modeling;

/// <summary>
/// A DeepSeek-V3 architecture, with Hugging Face's config.json field names
/// (transformers' DeepseekV3Config), so checkpoints load in the reference implementation.
/// </summary>
public sealed record DeepSeekV3Config
{
    public const string FileName = "config.json";

    public string ModelType { get; init; } = "deepseek_v3";
    public IReadOnlyList<string> Architectures { get; init; } = ["DeepseekV3ForCausalLM"];
    public int VocabSize { get; init; }
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int MoeIntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int NSharedExperts { get; init; }
    public int NRoutedExperts { get; init; }
    public float RoutedScalingFactor { get; init; } = 1.0f;
    public int KvLoraRank { get; init; }
    public int? QLoraRank { get; init; }
    public int QkRopeHeadDim { get; init; }
    public int VHeadDim { get; init; }
    public int QkNopeHeadDim { get; init; }
    public int NGroup { get; init; } = 1;
    public int TopkGroup { get; init; } = 1;
    public int NumExpertsPerTok { get; init; }
    public int FirstKDenseReplace { get; init; } = 1;
    public bool NormTopkProb { get; init; } = true;
    public string ScoringFunc { get; init; } = "sigmoid";
    public string TopkMethod { get; init; } = "noaux_tc";
    public string HiddenAct { get; init; } = "silu";
    public int MaxPositionEmbeddings { get; init; }
    public float InitializerRange { get; init; } = 0.02f;
    public float RmsNormEps { get; init; } = 1e-6f;
    public bool UseCache { get; init; } = true;
    public int BosTokenId { get; init; }
    public int EosTokenId { get; init; } = 1;
    public int? PadTokenId { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public float RopeTheta { get; init; } = 10000f;
    public JsonElement? RopeScaling { get; init; }
    public bool RopeInterleave { get; init; } = true;
    public bool AttentionBias { get; init; }
    public float AttentionDropout { get; init; }
    public string TorchDtype { get; init; } = "float32";

    [JsonIgnore] public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>The architectures edge-distill can make out of the box.</summary>
    public static DeepSeekV3Config Preset(string name, int vocabularySize, int bosId, int eosId) => name switch
    {
        // Small enough to ship in the repository (the embedding dominates: 129,280 x 16, tied
        // with the LM head) and to run in CI, yet every DeepSeek-V3 feature is there: MLA with
        // a compressed query and KV latent, a dense first layer, then MoE layers with a shared
        // expert, group-limited sigmoid routing over 8 routed experts, top-2.
        "tiny" => new DeepSeekV3Config
        {
            VocabSize = vocabularySize,
            HiddenSize = 16,
            IntermediateSize = 48,
            MoeIntermediateSize = 12,
            NumHiddenLayers = 3,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 4,
            NSharedExperts = 1,
            NRoutedExperts = 8,
            RoutedScalingFactor = 2.5f,
            KvLoraRank = 16,
            QLoraRank = 24,
            QkRopeHeadDim = 4,
            VHeadDim = 8,
            QkNopeHeadDim = 8,
            NGroup = 2,
            TopkGroup = 1,
            NumExpertsPerTok = 2,
            FirstKDenseReplace = 1,
            MaxPositionEmbeddings = 1024,
            BosTokenId = bosId,
            EosTokenId = eosId,
            PadTokenId = eosId,
            TieWordEmbeddings = true,
            // Hugging Face's 0.02 suits hidden sizes in the thousands; at 16 it leaves attention and
            // experts so faint that the logits barely depend on them, and a broken export of those
            // paths would still verify. 1/sqrt(hidden) keeps every path visible in the logits.
            InitializerRange = 0.25f,
        },
        // A teacher for the tiny student (CI's toy recipe): four times wider, one layer deeper, same MoE shape.
        "small" => Preset("tiny", vocabularySize, bosId, eosId) with
        {
            HiddenSize = 64,
            IntermediateSize = 192,
            MoeIntermediateSize = 48,
            NumHiddenLayers = 4,
            KvLoraRank = 32,
            QLoraRank = 48,
            QkRopeHeadDim = 8,
            VHeadDim = 16,
            QkNopeHeadDim = 16,
            InitializerRange = 0.125f,
        },
        // The shipped student: small's width, six layers, and DeepSeekMoE's fine-grained experts
        // (16 routed + 1 shared, 4 groups of which 2 are searched, top-2), so that its weights
        // (1.78 M parameters, 0.92 M active) and not the tokenizer every package carries dominate
        // what INT8 shrinks. Training runs only the chosen experts, so the extra experts cost bytes, not time.
        "edge" => Preset("small", vocabularySize, bosId, eosId) with
        {
            MoeIntermediateSize = 64,
            NumHiddenLayers = 6,
            NRoutedExperts = 16,
            NGroup = 4,
            TopkGroup = 2,
        },
        // The teacher of the edge student: twice as wide, same depth and experts (3.85 M
        // parameters, 2.13 M active at a 9k vocabulary): 3,000 steps take two CPU cores ~25 minutes.
        "base" => Preset("edge", vocabularySize, bosId, eosId) with
        {
            HiddenSize = 128,
            IntermediateSize = 384,
            KvLoraRank = 64,
            QLoraRank = 96,
            QkRopeHeadDim = 16,
            VHeadDim = 32,
            QkNopeHeadDim = 32,
            InitializerRange = 0.088f,
        },
        // The realistic edge size the speed work is measured at (issue 16's 307 M model): hidden 768,
        // 8 layers of which the first is dense, MLA with q_lora 384 / kv_lora 256, 64 routed experts
        // of 256 (top 6 from the best 4 of 8 groups) + 2 shared, an untied LM head as in DeepSeek-V3.
        // Random weights: for speed, not for text.
        "edge-300m" => new DeepSeekV3Config
        {
            VocabSize = vocabularySize,
            HiddenSize = 768,
            IntermediateSize = 2048,
            MoeIntermediateSize = 256,
            NumHiddenLayers = 8,
            NumAttentionHeads = 12,
            NumKeyValueHeads = 12,
            NSharedExperts = 2,
            NRoutedExperts = 64,
            RoutedScalingFactor = 2.5f,
            KvLoraRank = 256,
            QLoraRank = 384,
            QkRopeHeadDim = 32,
            VHeadDim = 64,
            QkNopeHeadDim = 64,
            NGroup = 8,
            TopkGroup = 4,
            NumExpertsPerTok = 6,
            FirstKDenseReplace = 1,
            MaxPositionEmbeddings = 4096,
            BosTokenId = bosId,
            EosTokenId = eosId,
            PadTokenId = eosId,
            TieWordEmbeddings = false,
        },
        // edge-300m with 8 routed experts instead of 64, same active size (top 6 of one group): what
        // decode would cost if the total size did not matter; the sparse-dispatch bench's baseline.
        "edge-300m-8e" => Preset("edge-300m", vocabularySize, bosId, eosId) with { NRoutedExperts = 8, NGroup = 1, TopkGroup = 1 },
        _ => throw new ArgumentException($"Unknown preset '{name}'; known presets: tiny, small, edge, base, edge-300m, edge-300m-8e."),
    };

    /// <summary>YaRN RoPE scaling when rope_scaling asks for it (DeepSeek-V2 and -V3 releases do).</summary>
    [JsonIgnore]
    internal YarnRopeScaling? Yarn => RopeScaling is { ValueKind: JsonValueKind.Object } r ? YarnRopeScaling.Read(r) : null;

    /// <summary>Attention's softmax scale: 1/sqrt(qk_head_dim), times YaRN's mscale squared.</summary>
    [JsonIgnore]
    public double SoftmaxScale => Math.Pow(QkHeadDim, -0.5) * (Yarn?.SoftmaxScaleFactor ?? 1.0);

    /// <summary>
    /// Whether routed_scaling_factor multiplies the expert weights: always in V3; in V2 only when
    /// they are not normalised (its MoEGate scales in the else branch).
    /// </summary>
    [JsonIgnore]
    public bool ScalesExpertWeights => ModelType != "deepseek_v2" || !NormTopkProb;

    /// <summary>Refuses what the ONNX and GGUF exporters do not implement, naming it (V2 and V3 releases pass).</summary>
    public void ValidateForExport()
    {
        void Require(bool condition, string message)
        {
            if (!condition)
                throw new InvalidDataException($"{FileName}: {message}");
        }
        Require(ModelType is "deepseek_v3" or "deepseek_v2", $"model_type is '{ModelType}'; DeepSeek exports handle deepseek_v3 and deepseek_v2.");
        Require(VocabSize > 0 && HiddenSize > 0 && NumHiddenLayers > 0 && NumAttentionHeads > 0, "sizes must be positive.");
        Require(QkRopeHeadDim % 2 == 0, "qk_rope_head_dim must be even.");
        Require(ScoringFunc is "sigmoid" or "softmax", $"scoring_func '{ScoringFunc}' is not supported (sigmoid and softmax are).");
        Require(TopkMethod is "noaux_tc" or "greedy" or "group_limited_greedy", $"topk_method '{TopkMethod}' is not supported (noaux_tc, greedy and group_limited_greedy are).");
        Require(HiddenAct == "silu", $"hidden_act '{HiddenAct}' is not supported (silu is).");
        string? scaling = RopeScaling is { ValueKind: JsonValueKind.Object } r
            ? (r.TryGetProperty("type", out var t) ? t.GetString() : r.TryGetProperty("rope_type", out var rt) ? rt.GetString() : null)
            : null;
        Require(RopeScaling is null || RopeScaling.Value.ValueKind == JsonValueKind.Null || scaling == "yarn", $"rope_scaling type '{scaling}' is not supported (yarn is).");
        Require(!AttentionBias, "attention_bias is not supported.");
        Require(NRoutedExperts % NGroup == 0, "n_routed_experts must be a multiple of n_group.");
        Require(TopkMethod != "noaux_tc" || NRoutedExperts / NGroup >= 2, "each expert group needs at least 2 experts (noaux_tc scores groups by their top two).");
        Require(TopkGroup <= NGroup, "topk_group must not exceed n_group.");
        Require(NumExpertsPerTok <= (TopkMethod == "greedy" ? NRoutedExperts : TopkGroup * (NRoutedExperts / NGroup)), "num_experts_per_tok exceeds the experts it may choose from.");
        Require(NumKeyValueHeads == NumAttentionHeads, "num_key_value_heads must equal num_attention_heads (MLA has no GQA).");
    }

    /// <summary>Refuses, naming it, what the TorchSharp model (training, verify) does not implement on top of the exporters' rules.</summary>
    public void Validate()
    {
        ValidateForExport();
        if (ModelType != "deepseek_v3" || ScoringFunc != "sigmoid" || TopkMethod != "noaux_tc" || Yarn is not null || QLoraRank is null)
            throw new InvalidDataException($"{FileName}: edge-distill trains and verifies deepseek_v3 students with q_lora_rank, sigmoid noaux_tc routing and no rope_scaling; this config can be imported and exported, not trained.");
    }

    public static DeepSeekV3Config Load(string path)
    {
        var config = JsonSerializer.Deserialize(File.ReadAllBytes(path), DistillJsonContext.Default.DeepSeekV3Config)
            ?? throw new InvalidDataException($"{path} is empty.");
        config.Validate();
        return config;
    }

    public void Save(string path) => File.WriteAllText(path, ToJson() + "\n");

    /// <summary>The config.json text; two configs describe the same architecture when theirs are equal.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, DistillJsonContext.Default.DeepSeekV3Config);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(DeepSeekV3Config))]
internal sealed partial class DistillJsonContext : JsonSerializerContext;
