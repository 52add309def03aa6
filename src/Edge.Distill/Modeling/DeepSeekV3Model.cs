using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Edge.Distill.Modeling;

// The DeepSeek-V3 architecture in TorchSharp, written to follow Hugging Face's reference
// (transformers' modeling_deepseek_v3) operation for operation, with its parameter names,
// so that a checkpoint means the same thing here and there. This is the one definition of the
// model; the ONNX exporter reads its weights and must reproduce its forward pass.
// Submodule fields carry the Hugging Face names (q_a_proj, experts, ...) on purpose: TorchSharp
// registers submodules under their field names, and those names are the checkpoint's tensor names.

/// <summary>Root mean square layer norm, computed in float32.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    // Named as registered: module.to(dtype) replaces a parameter and updates the field of that name.
    private readonly Parameter weight;
    private readonly double _eps;

    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size));
        _eps = eps;
        register_parameter(nameof(weight), weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.square().mean([-1], keepdim: true); // no Scalar argument: see MultiHeadLatentAttention.MaskedScore
        return (weight * (x * rsqrt(variance + _eps))).MoveToOuterDisposeScope();
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj, up_proj, down_proj;

    public Mlp(int hidden, int intermediate) : base(nameof(Mlp))
    {
        gate_proj = nn.Linear(hidden, intermediate, hasBias: false);
        up_proj = nn.Linear(hidden, intermediate, hasBias: false);
        down_proj = nn.Linear(intermediate, hidden, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Multi-head Latent Attention: queries through a low-rank bottleneck; keys and values from a
/// compressed latent (kv_lora_rank) plus one shared RoPE key per position.
/// </summary>
internal sealed class MultiHeadLatentAttention : nn.Module<Tensor, (Tensor Cos, Tensor Sin), Tensor>
{
    // Held for the process's life: a Scalar converted implicitly for each call is a native handle
    // the GC may finalize while libtorch still reads it; the recipe's student run crashed at step
    // ~1,045 in masked_fill with a corrupted value ("toFloat ... Expected false to be true").
    private static readonly Scalar MaskedScore = float.NegativeInfinity;
    private readonly DeepSeekV3Config _config;
    private readonly Linear q_a_proj, q_b_proj, kv_a_proj_with_mqa, kv_b_proj, o_proj;
    private readonly RmsNorm q_a_layernorm, kv_a_layernorm;

    public MultiHeadLatentAttention(DeepSeekV3Config config) : base(nameof(MultiHeadLatentAttention))
    {
        _config = config;
        int heads = config.NumAttentionHeads;
        int qRank = config.QLoraRank ?? throw new InvalidDataException("q_lora_rank is required (the uncompressed q_proj variant is not implemented).");
        q_a_proj = nn.Linear(config.HiddenSize, qRank, hasBias: false);
        q_a_layernorm = new RmsNorm(qRank, config.RmsNormEps);
        q_b_proj = nn.Linear(qRank, heads * config.QkHeadDim, hasBias: false);
        kv_a_proj_with_mqa = nn.Linear(config.HiddenSize, config.KvLoraRank + config.QkRopeHeadDim, hasBias: false);
        kv_a_layernorm = new RmsNorm(config.KvLoraRank, config.RmsNormEps);
        kv_b_proj = nn.Linear(config.KvLoraRank, heads * (config.QkNopeHeadDim + config.VHeadDim), hasBias: false);
        o_proj = nn.Linear(heads * config.VHeadDim, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    /// <param name="x">[batch, seq, hidden]</param>
    /// <param name="rope">cos and sin, [batch, seq, qk_rope_head_dim]</param>
    public override Tensor forward(Tensor x, (Tensor Cos, Tensor Sin) rope)
    {
        using var scope = NewDisposeScope();
        var c = _config;
        long batch = x.shape[0], seq = x.shape[1];
        int heads = c.NumAttentionHeads;

        var q = q_b_proj.forward(q_a_layernorm.forward(q_a_proj.forward(x))).view(batch, seq, heads, c.QkHeadDim).transpose(1, 2);
        var qParts = q.split([c.QkNopeHeadDim, c.QkRopeHeadDim], dim: -1);
        var compressed = kv_a_proj_with_mqa.forward(x);
        var kvParts = compressed.split([c.KvLoraRank, c.QkRopeHeadDim], dim: -1);
        var kv = kv_b_proj.forward(kv_a_layernorm.forward(kvParts[0])).view(batch, seq, heads, c.QkNopeHeadDim + c.VHeadDim).transpose(1, 2);
        var kvSplit = kv.split([c.QkNopeHeadDim, c.VHeadDim], dim: -1);
        var kRot = kvParts[1].view(batch, 1, seq, c.QkRopeHeadDim);

        var cos = rope.Cos.unsqueeze(1);
        var sin = rope.Sin.unsqueeze(1);
        var qRot = RotaryEmbedding.Apply(qParts[1], cos, sin, c.RopeInterleave);
        kRot = RotaryEmbedding.Apply(kRot, cos, sin, c.RopeInterleave).expand(batch, heads, seq, c.QkRopeHeadDim);

        var query = cat([qParts[0], qRot], dim: -1);
        var key = cat([kvSplit[0], kRot], dim: -1);
        var scores = matmul(query, key.transpose(2, 3)) * Math.Pow(c.QkHeadDim, -0.5);
        var causal = ones(seq, seq, dtype: ScalarType.Bool).tril();
        scores = scores.masked_fill(causal.logical_not(), MaskedScore);
        var probabilities = nn.functional.softmax(scores, dim: -1);
        var output = matmul(probabilities, kvSplit[1]).transpose(1, 2).reshape(batch, seq, heads * c.VHeadDim);
        return o_proj.forward(output).MoveToOuterDisposeScope();
    }
}

/// <summary>The rotary position embedding of the decoupled RoPE dimensions.</summary>
internal static class RotaryEmbedding
{
    /// <returns>cos and sin, [batch, seq, dim], for the given positions ([batch, seq]).</returns>
    public static (Tensor Cos, Tensor Sin) For(Tensor positions, int dim, double theta)
    {
        using var scope = NewDisposeScope();
        var inverseFrequency = 1.0 / pow(theta, arange(0, dim, 2, dtype: ScalarType.Float32) / dim);
        var frequencies = positions.to(ScalarType.Float32).unsqueeze(-1) * inverseFrequency;
        var embedding = cat([frequencies, frequencies], dim: -1);
        return (embedding.cos().MoveToOuterDisposeScope(), embedding.sin().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// x * cos + rotate_half(x) * sin. With <paramref name="interleave"/> (DeepSeek-V3's
    /// rope_interleave) the pairs are first de-interleaved: (x0, x1, x2, x3) -> (x0, x2, x1, x3).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool interleave)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        long dim = shape[^1];
        if (interleave)
        {
            long[] pairs = [.. shape[..^1], dim / 2, 2];
            x = x.view(pairs).transpose(-1, -2).reshape(shape);
        }
        var halves = x.chunk(2, dim: -1);
        var rotated = cat([-halves[1], halves[0]], dim: -1);
        // The tables are float32; a bfloat16 model keeps its own precision.
        return (x * cos.to_type(x.dtype) + rotated * sin.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>The router: sigmoid scores; selection biased by e_score_correction_bias, group-limited.</summary>
internal sealed class MoeGate : nn.Module<Tensor, (Tensor Indices, Tensor Weights)>
{
    private static readonly Scalar Zero = 0.0; // held for the process's life, as MultiHeadLatentAttention's mask value
    private readonly DeepSeekV3Config _config;
    // Named as registered: module.to(dtype) replaces a parameter and updates the field of that name.
    private readonly Parameter weight;

    public MoeGate(DeepSeekV3Config config) : base(nameof(MoeGate))
    {
        _config = config;
        weight = new Parameter(empty(config.NRoutedExperts, config.HiddenSize));
        register_parameter(nameof(weight), weight);
        register_buffer(CorrectionBiasName, zeros(config.NRoutedExperts));
    }

    private const string CorrectionBiasName = "e_score_correction_bias";

    // Looked up by name, not kept in a field: module.to(dtype) replaces registered buffers.
    private Tensor CorrectionBias => named_buffers().First(b => b.name == CorrectionBiasName).buffer;

    public int Experts => _config.NRoutedExperts;

    public int ExpertsPerToken => _config.NumExpertsPerTok;

    /// <summary>While training: keep each forward's router scores and choices for the balancing loss and the routing statistics.</summary>
    public bool KeepRouting { get; set; }

    /// <summary>The last forward's sigmoid scores [tokens, experts] (with gradient) and chosen experts [tokens, k]; the caller disposes them.</summary>
    public (Tensor Scores, Tensor Indices)? LastRouting { get; private set; }

    /// <summary>
    /// DeepSeek-V3's auxiliary-loss-free balancing: raise the selection bias of experts that got
    /// fewer tokens than the mean and lower it for those that got more, by <paramref name="rate"/>.
    /// </summary>
    public void UpdateBias(Tensor tokensPerExpert, double rate)
    {
        using var noGrad = no_grad();
        using var load = tokensPerExpert.to_type(ScalarType.Float32);
        using var change = (load.mean() - load).sign() * rate;
        CorrectionBias.add_(change.to_type(CorrectionBias.dtype));
    }

    /// <param name="x">[tokens, hidden]</param>
    /// <returns>the chosen experts and their weights, [tokens, num_experts_per_tok] each</returns>
    public override (Tensor Indices, Tensor Weights) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var c = _config;
        long tokens = x.shape[0];
        int perGroup = c.NRoutedExperts / c.NGroup;
        var scores = nn.functional.linear(x, weight).sigmoid();
        var forChoice = scores + CorrectionBias;
        var groupScores = forChoice.view(tokens, c.NGroup, perGroup).topk(2, dim: -1).values.sum(dim: -1);
        var groupIndices = groupScores.topk(c.TopkGroup, dim: -1, sorted: false).indexes;
        var groupMask = zeros_like(groupScores).scatter_(1, groupIndices, ones_like(groupIndices, dtype: groupScores.dtype));
        var scoreMask = groupMask.unsqueeze(-1).expand(tokens, c.NGroup, perGroup).reshape(tokens, c.NRoutedExperts);
        var masked = forChoice.masked_fill(scoreMask.logical_not(), Zero);
        var indices = masked.topk(c.NumExpertsPerTok, dim: -1, sorted: false).indexes;
        var weights = scores.gather(1, indices);
        if (c.NormTopkProb)
            weights = weights / (weights.sum(dim: -1, keepdim: true) + 1e-20);
        weights = weights * c.RoutedScalingFactor;
        if (KeepRouting)
            LastRouting = (scores.DetachFromDisposeScope(), indices.clone().DetachFromDisposeScope());
        return (indices.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }
}

/// <summary>DeepSeekMoE: shared experts for every token plus the routed experts the gate picks.</summary>
internal sealed class MoeBlock : nn.Module<Tensor, Tensor>
{
    private readonly DeepSeekV3Config _config;
    private readonly MoeGate gate;
    private readonly ModuleList<Mlp> experts;
    private readonly Mlp shared_experts;

    public MoeBlock(DeepSeekV3Config config) : base(nameof(MoeBlock))
    {
        _config = config;
        gate = new MoeGate(config);
        experts = new ModuleList<Mlp>([.. Enumerable.Range(0, config.NRoutedExperts).Select(_ => new Mlp(config.HiddenSize, config.MoeIntermediateSize))]);
        shared_experts = new Mlp(config.HiddenSize, config.MoeIntermediateSize * config.NSharedExperts);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var flat = x.view(-1, shape[^1]);
        var (indices, weights) = gate.forward(flat);
        var routed = zeros_like(flat);
        // Each expert runs only on the tokens routed to it, as in the reference implementation.
        var assignment = nn.functional.one_hot(indices, _config.NRoutedExperts).permute(2, 0, 1);
        for (int e = 0; e < _config.NRoutedExperts; e++)
        {
            var hits = assignment[e].nonzero();
            if (hits.shape[0] == 0)
                continue;
            var tokenIndex = hits.select(1, 0);
            var slot = hits.select(1, 1);
            var expertOut = experts[e].forward(flat.index_select(0, tokenIndex));
            var weight = weights.index([TensorIndex.Tensor(tokenIndex), TensorIndex.Tensor(slot)]).unsqueeze(-1);
            routed.index_add_(0, tokenIndex, expertOut * weight, 1.0);
        }
        return (routed.view(shape) + shared_experts.forward(x)).MoveToOuterDisposeScope();
    }
}

internal sealed class DecoderLayer : nn.Module<Tensor, (Tensor Cos, Tensor Sin), Tensor>
{
    private readonly RmsNorm input_layernorm, post_attention_layernorm;
    private readonly MultiHeadLatentAttention self_attn;
    private readonly nn.Module<Tensor, Tensor> mlp;

    public DecoderLayer(DeepSeekV3Config config, int index) : base(nameof(DecoderLayer))
    {
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        self_attn = new MultiHeadLatentAttention(config);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        mlp = index < config.FirstKDenseReplace
            ? new Mlp(config.HiddenSize, config.IntermediateSize)
            : new MoeBlock(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, (Tensor Cos, Tensor Sin) rope)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(input_layernorm.forward(x), rope);
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>The backbone: embeddings, decoder layers, final norm (Hugging Face's "model.").</summary>
internal sealed class DeepSeekV3Backbone : nn.Module<Tensor, Tensor>
{
    private readonly DeepSeekV3Config _config;
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;

    public DeepSeekV3Backbone(DeepSeekV3Config config) : base(nameof(DeepSeekV3Backbone))
    {
        _config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = new ModuleList<DecoderLayer>([.. Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i))]);
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public Tensor EmbeddingWeight => embed_tokens.weight!;

    /// <param name="inputIds">[batch, seq]</param>
    /// <returns>final hidden states, [batch, seq, hidden]</returns>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        long batch = inputIds.shape[0], seq = inputIds.shape[1];
        var positions = arange(seq, dtype: ScalarType.Int64).unsqueeze(0).expand(batch, seq);
        var rope = RotaryEmbedding.For(positions, _config.QkRopeHeadDim, _config.RopeTheta);
        var h = embed_tokens.forward(inputIds);
        foreach (var layer in layers)
            h = layer.forward(h, rope);
        return norm.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>DeepseekV3ForCausalLM: the backbone and the LM head (tied to the embedding when configured).</summary>
internal sealed class DeepSeekV3ForCausalLM : nn.Module<Tensor, Tensor>
{
    private readonly DeepSeekV3Backbone model;
    private readonly Linear? lm_head;

    public DeepSeekV3ForCausalLM(DeepSeekV3Config config) : base(nameof(DeepSeekV3ForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new DeepSeekV3Backbone(config);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        }
        RegisterComponents();
    }

    public DeepSeekV3Config Config { get; }

    /// <summary>Logits for every position, [batch, seq, vocab], computing the whole sequence (no cache).</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var h = model.forward(inputIds);
        var logits = lm_head is null ? matmul(h, model.EmbeddingWeight.t()) : lm_head.forward(h);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Hugging Face's initialisation: normal(0, initializer_range) for linear and embedding weights.</summary>
    public void InitializeWeights(long seed)
    {
        using var guard = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal))
                parameter.fill_(1.0);
            else
                parameter.normal_(0, Config.InitializerRange, generator);
        }
    }
}
