using Edge.Distill.Modeling;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using DataType = Edge.Distill.Onnx.Proto.TensorProto.Types.DataType;

namespace Edge.Distill.Export;

/// <summary>
/// Writes a DeepSeek-V3 checkpoint as an ONNX decoder with a recurrent state, following the
/// runtime's conventions (input_ids, attention_mask, position_ids -> logits; every present.N.x
/// feeds past_key_values.N.x at the next step).
/// </summary>
/// <remarks>
/// The MLA cache holds what DeepSeek's own inference keeps: per layer the normalised KV latent
/// (kv_lora_rank wide) and the rotated RoPE key (qk_rope_head_dim wide), not per-head keys and
/// values. Attention runs in the latent space: kv_b_proj is split into its key and value halves
/// and absorbed into the query and the output, so the cache is never expanded.
/// Routed experts run sparsely: ONNX Runtime's MoE operator evaluates only the experts each token
/// picked, with the routing computed in the graph exactly as DeepSeek defines it.
/// </remarks>
internal sealed class DeepSeekV3OnnxExporter
{
    public const string LatentCache = "kv_latent";
    public const string RopeKeyCache = "k_rope";

    private readonly DeepSeekV3Config _config;
    private readonly DecoderGraph _d;
    private readonly OnnxGraphBuilder _g;

    private DeepSeekV3OnnxExporter(DeepSeekV3Config config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, CacheLayout layout, ExternalData? external)
    {
        _config = config;
        _d = new DecoderGraph(weights, layout, config.RmsNormEps, external);
        _g = _d.G;
    }

    /// <param name="externalData">Weights to path.data (imports: no 2 GB limit, one weight in memory at a time, memory-mappable).</param>
    public static void Export(DeepSeekV3Config config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string path, CacheLayout layout, bool externalData = false) =>
        DecoderGraph.Write(path, externalData, external => new DeepSeekV3OnnxExporter(config, weights, layout, external).Build());

    private ModelProto Build()
    {
        var c = _config;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _d.StateInput(layer, LatentCache, c.KvLoraRank);
            _d.StateInput(layer, RopeKeyCache, c.QkRopeHeadDim);
        }

        string embedding = _d.Weight("model.embed_tokens.weight");
        string h = _g.Op("Gather", [embedding, _d.InputIds], ("axis", 0L));
        var rope = c.Yarn is { } yarn
            ? _d.RopeTables(yarn.InverseFrequencies(c.QkRopeHeadDim, c.RopeTheta), yarn.Magnitude)
            : _d.RopeTables(DecoderGraph.InverseFrequencies(c.QkRopeHeadDim, c.RopeTheta));

        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            string attention = Attention(layer, _d.RmsNorm(h, prefix + "input_layernorm.weight"), rope);
            h = _g.Op("Add", [h, attention]);
            string normed = _d.RmsNorm(h, prefix + "post_attention_layernorm.weight");
            string mlp = layer < c.FirstKDenseReplace ? _d.Mlp(normed, prefix + "mlp.") : Moe(normed, prefix + "mlp.");
            h = _g.Op("Add", [h, mlp]);
        }
        h = _d.RmsNorm(h, "model.norm.weight");
        _d.LmHead(h, c.HiddenSize, c.VocabSize, c.TieWordEmbeddings, embedding);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _d.StateOutput(layer, LatentCache, c.KvLoraRank);
            _d.StateOutput(layer, RopeKeyCache, c.QkRopeHeadDim);
        }
        return _d.Build("DeepSeek-V3 architecture (MLA + DeepSeekMoE) exported by edge-distill. Linear weights are stored transposed ([in, out]) for MatMul.");
    }

    private string Attention(int layer, string x, (string Cos, string Sin) rope)
    {
        var c = _config;
        string prefix = $"model.layers.{layer}.self_attn.";
        int heads = c.NumAttentionHeads;

        // Queries: [B, S, H] -> [B, heads, S, qk_head_dim], split into the no-RoPE and RoPE parts.
        string q = c.QLoraRank is null
            ? _d.Linear(x, prefix + "q_proj.weight") // V2-Lite: no query compression
            : _d.Linear(_d.RmsNorm(_d.Linear(x, prefix + "q_a_proj.weight"), prefix + "q_a_layernorm.weight"), prefix + "q_b_proj.weight");
        q = _g.Op("Transpose", [_g.Op("Reshape", [q, _g.Int64s(0, 0, heads, c.QkHeadDim)])], ("perm", new long[] { 0, 2, 1, 3 }));
        var qParts = _g.OpWithOutputs("Split", [q, _g.Int64s(c.QkNopeHeadDim, c.QkRopeHeadDim)], 2, ("axis", -1L));
        string qRope = _d.ApplyRope(qParts[1], _g.Op("Unsqueeze", [rope.Cos, _g.Int64s(1)]), _g.Op("Unsqueeze", [rope.Sin, _g.Int64s(1)]), rank: 4, c.QkRopeHeadDim, c.RopeInterleave);

        // The new positions' latent and RoPE key, appended to the cache.
        string compressed = _d.Linear(x, prefix + "kv_a_proj_with_mqa.weight");
        var kvParts = _g.OpWithOutputs("Split", [compressed, _g.Int64s(c.KvLoraRank, c.QkRopeHeadDim)], 2, ("axis", -1L));
        string latent = _d.RmsNorm(kvParts[0], prefix + "kv_a_layernorm.weight");
        string kRope = _d.ApplyRope(kvParts[1], rope.Cos, rope.Sin, rank: 3, c.QkRopeHeadDim, c.RopeInterleave);
        string allLatent = _d.AppendToCache(layer, LatentCache, latent);
        string allRope = _d.AppendToCache(layer, RopeKeyCache, kRope);

        // kv_b_proj ([heads * (nope + v), rank]) split into W_UK [heads, nope, rank] and W_UV^T [heads, rank, v].
        var (keyUp, valueUp) = SplitKvUpProjection(prefix + "kv_b_proj.weight");
        string qLatent = _g.Op("MatMul", [qParts[0], keyUp]);                                   // [B, heads, S, rank]
        string latentT = _g.Op("Transpose", [_g.Op("Unsqueeze", [allLatent, _g.Int64s(1)])], ("perm", new long[] { 0, 1, 3, 2 })); // [B, 1, rank, T]
        string ropeT = _g.Op("Transpose", [_g.Op("Unsqueeze", [allRope, _g.Int64s(1)])], ("perm", new long[] { 0, 1, 3, 2 }));     // [B, 1, dr, T]
        string scores = _g.Op("Add", [_g.Op("MatMul", [qLatent, latentT]), _g.Op("MatMul", [qRope, ropeT])]);
        scores = _g.Op("Mul", [scores, _g.Scalar((float)c.SoftmaxScale)]);
        scores = _g.Op("Where", [_d.Mask, scores, _g.Scalar(float.NegativeInfinity)]);
        string probabilities = _g.Op("Softmax", [scores], ("axis", -1L));
        string context = _g.Op("MatMul", [probabilities, _g.Op("Unsqueeze", [allLatent, _g.Int64s(1)])]); // [B, heads, S, rank]
        string values = _g.Op("MatMul", [context, valueUp]);                                            // [B, heads, S, v]
        values = _g.Op("Reshape", [_g.Op("Transpose", [values], ("perm", new long[] { 0, 2, 1, 3 })), _g.Int64s(0, 0, heads * c.VHeadDim)]);
        return _d.Linear(values, prefix + "o_proj.weight");
    }

    private (string KeyUp, string ValueUpTransposed) SplitKvUpProjection(string name)
    {
        var c = _config;
        var (_, data) = _d[name];
        int rank = c.KvLoraRank, nope = c.QkNopeHeadDim, v = c.VHeadDim, heads = c.NumAttentionHeads;
        var keyUp = new float[heads * nope * rank];
        var valueUpT = new float[heads * rank * v];
        for (int head = 0; head < heads; head++)
        {
            for (int row = 0; row < nope + v; row++)
            {
                int source = (head * (nope + v) + row) * rank;
                for (int r = 0; r < rank; r++)
                {
                    float w = data[source + r];
                    if (row < nope)
                        keyUp[(head * nope + row) * rank + r] = w;
                    else
                        valueUpT[(head * rank + r) * v + (row - nope)] = w;
                }
            }
        }
        return (_g.Initializer(name + ".key_up", keyUp, heads, nope, rank),
                _g.Initializer(name + ".value_up_t", valueUpT, heads, rank, v));
    }

    private string Moe(string x, string prefix)
    {
        var c = _config;
        string flat = _g.Op("Reshape", [x, _g.Int64s(-1, c.HiddenSize)]);                        // [N, H]

        // Router: sigmoid (V3) or softmax (V2) scores; V3's correction bias only steers selection.
        string logits = _d.Linear(flat, prefix + "gate.weight");
        string scores = c.ScoringFunc == "sigmoid" ? _g.Op("Sigmoid", [logits]) : _g.Op("Softmax", [logits], ("axis", -1L)); // [N, E]
        string biasName = prefix + "gate.e_score_correction_bias";
        string forChoice = _d.Has(biasName) ? _g.Op("Add", [scores, _d.Weight(biasName)]) : scores;
        string masked = c.TopkMethod == "greedy" ? forChoice : GroupLimited(forChoice);
        string chosen = _g.OpWithOutputs("TopK", [masked, _g.Int64s(c.NumExpertsPerTok)], 2, ("axis", -1L))[1];
        string weights = _g.Op("GatherElements", [scores, chosen], ("axis", 1L));
        if (c.NormTopkProb)
        {
            string sum = _g.Op("ReduceSum", [weights, _g.Int64s(-1)], ("keepdims", 1L));
            weights = _g.Op("Div", [weights, _g.Op("Add", [sum, _g.Scalar(1e-20f)])]);
        }
        if (c.ScalesExpertWeights)
            weights = _g.Op("Mul", [weights, _g.Scalar(c.RoutedScalingFactor)]);

        // Only the chosen experts run, through ONNX Runtime's MoE operator: it groups the tokens of a
        // step by expert, so each expert's weights are read once per step, whatever the batch. Its own
        // router softmaxes logits and keeps the top k; handing it log(w) for the chosen experts and
        // -1e30 elsewhere makes it pick exactly ours and mix with w / sum(w), and the product with
        // sum(w) restores w: the routing (sigmoid or softmax, bias for choice only, groups, norm,
        // scale) stays ours and exact. Its SwiGLU with alpha 1, beta 0 and no limit is SiLU(gate) x up.
        string routerLogits = _g.Op("ScatterElements", [_d.Filled(scores, -1e30f), chosen, _g.Op("Log", [weights])], ("axis", 1L));
        string mixed = _g.MicrosoftOp("MoE", [flat, routerLogits, ExpertGateUpWeights(prefix), "", ExpertDownWeights(prefix)],
            ("k", (long)c.NumExpertsPerTok), ("activation_type", "swiglu"), ("swiglu_fusion", 1L), ("normalize_routing_weights", 1L),
            ("activation_alpha", 1f), ("activation_beta", 0f));
        string routed = _g.Op("Mul", [mixed, _g.Op("ReduceSum", [weights, _g.Int64s(-1)], ("keepdims", 1L))]); // [N, H]
        routed = _g.Op("Reshape", [routed, _g.Op("Shape", [x])]);
        return _g.Op("Add", [routed, _d.Mlp(x, prefix + "shared_experts.")]);
    }

    /// <summary>
    /// Scores of experts outside the topk_group best groups set to 0. A group's score is the sum of
    /// its top two (V3's noaux_tc) or its best (V2's group_limited_greedy).
    /// </summary>
    private string GroupLimited(string forChoice)
    {
        var c = _config;
        int perGroup = c.NRoutedExperts / c.NGroup;
        string grouped = _g.Op("Reshape", [forChoice, _g.Int64s(-1, c.NGroup, perGroup)]);
        string groupScores = c.TopkMethod == "noaux_tc"
            ? _g.Op("ReduceSum", [_g.OpWithOutputs("TopK", [grouped, _g.Int64s(2)], 2, ("axis", -1L))[0], _g.Int64s(-1)], ("keepdims", 0L))
            : _g.Op("ReduceMax", [grouped], ("axes", new long[] { -1 }), ("keepdims", 0L));                   // [N, G]
        string groupIndices = _g.OpWithOutputs("TopK", [groupScores, _g.Int64s(c.TopkGroup)], 2, ("axis", -1L))[1];
        string groupMask = _g.Op("ScatterElements", [_d.Filled(groupScores, 0f), groupIndices, _d.Filled(groupIndices, 1f)], ("axis", 1L));
        string keep = _g.Op("Cast", [_g.Op("Unsqueeze", [groupMask, _g.Int64s(-1)])], ("to", (long)DataType.Bool));
        return _g.Op("Reshape", [_g.Op("Where", [keep, grouped, _g.Scalar(0f)]), _g.Int64s(-1, c.NRoutedExperts)]);
    }

    /// <summary>
    /// [E, 2 x I, H]: expert e's gate and up rows interleaved (gate i at 2i, up i at 2i + 1), as MoE's
    /// fused SwiGLU reads them. Built one expert at a time (with external data, never whole in memory).
    /// </summary>
    private string ExpertGateUpWeights(string prefix)
    {
        int inner = _config.MoeIntermediateSize, hidden = _config.HiddenSize;
        IEnumerable<float[]> Experts()
        {
            for (int e = 0; e < _config.NRoutedExperts; e++)
            {
                var gate = _d[$"{prefix}experts.{e}.gate_proj.weight"].Data; // [I, H]
                var up = _d[$"{prefix}experts.{e}.up_proj.weight"].Data;
                var expert = new float[2 * inner * hidden];
                for (int i = 0; i < inner; i++)
                {
                    gate.AsSpan(i * hidden, hidden).CopyTo(expert.AsSpan(2 * i * hidden));
                    up.AsSpan(i * hidden, hidden).CopyTo(expert.AsSpan((2 * i + 1) * hidden));
                }
                yield return expert;
            }
        }
        return _g.Initializer($"{prefix}experts.gate_up_proj.weight", Experts(), _config.NRoutedExperts, 2 * inner, hidden);
    }

    /// <summary>[E, H, I]: each expert's down projection as the checkpoint holds it, one expert at a time.</summary>
    private string ExpertDownWeights(string prefix) =>
        _g.Initializer($"{prefix}experts.down_proj.weight",
            Enumerable.Range(0, _config.NRoutedExperts).Select(e => _d[$"{prefix}experts.{e}.down_proj.weight"].Data),
            _config.NRoutedExperts, _config.HiddenSize, _config.MoeIntermediateSize);
}
