using Edge.Distill.Modeling;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using Google.Protobuf;
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
/// Routed experts are evaluated for every token and weighted by the router (zero for experts
/// it did not pick); this is exact, and cheap at the sizes we ship, but does the work of all
/// experts. A gather-based sparse dispatch is the next step for large expert counts.
/// </remarks>
internal sealed class DeepSeekV3OnnxExporter
{
    public const string LatentCache = "kv_latent";
    public const string RopeKeyCache = "k_rope";

    private readonly DeepSeekV3Config _config;
    private readonly IReadOnlyDictionary<string, (long[] Shape, float[] Data)> _weights;
    private readonly CacheLayout _layout;
    private readonly OnnxGraphBuilder _g = new();

    private DeepSeekV3OnnxExporter(DeepSeekV3Config config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, CacheLayout layout)
    {
        _config = config;
        _weights = weights;
        _layout = layout;
    }

    public static string PastName(int layer, string cache) => $"past_key_values.{layer}.{cache}";

    public static string PresentName(int layer, string cache) => $"present.{layer}.{cache}";

    public static void Export(DeepSeekV3Config config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string path, CacheLayout layout)
    {
        var model = new DeepSeekV3OnnxExporter(config, weights, layout).Build();
        using var file = File.Create(path);
        model.WriteTo(file);
    }

    private ModelProto Build()
    {
        var c = _config;
        string inputIds = _g.Input("input_ids", DataType.Int64, "batch", "sequence");
        // Concatenating caches grow by S each step; shared ones are a fixed-capacity buffer that
        // the graph writes into at position_ids and that is fed back as the next past unchanged.
        bool shared = _layout == CacheLayout.Shared;
        string keysAxis = shared ? "cache_capacity" : "total_sequence";
        string pastAxis = shared ? "cache_capacity" : "past_sequence";
        string attentionMask = _g.Input("attention_mask", DataType.Int64, "batch", keysAxis);
        string positionIds = _g.Input("position_ids", DataType.Int64, "batch", "sequence");
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _g.Input(PastName(layer, LatentCache), DataType.Float, "batch", pastAxis, c.KvLoraRank);
            _g.Input(PastName(layer, RopeKeyCache), DataType.Float, "batch", pastAxis, c.QkRopeHeadDim);
        }

        string embedding = Weight("model.embed_tokens.weight");
        string h = _g.Op("Gather", [embedding, inputIds], ("axis", 0L));
        var rope = RopeTables(positionIds);
        string mask = AttentionMask(positionIds, attentionMask);
        string? cacheIndices = shared ? CacheWriteIndices(positionIds) : null;

        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            string attention = Attention(layer, RmsNorm(h, prefix + "input_layernorm.weight"), rope, mask, cacheIndices);
            h = _g.Op("Add", [h, attention]);
            string normed = RmsNorm(h, prefix + "post_attention_layernorm.weight");
            string mlp = layer < c.FirstKDenseReplace ? Mlp(normed, prefix + "mlp.") : Moe(normed, prefix + "mlp.");
            h = _g.Op("Add", [h, mlp]);
        }
        h = RmsNorm(h, "model.norm.weight");
        LmHead(h, inputIds, embedding);

        _g.Output("logits", DataType.Float, "batch", "sequence", c.VocabSize);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _g.Output(PresentName(layer, LatentCache), DataType.Float, "batch", keysAxis, c.KvLoraRank);
            _g.Output(PresentName(layer, RopeKeyCache), DataType.Float, "batch", keysAxis, c.QkRopeHeadDim);
        }
        return _g.Build("DeepSeek-V3 architecture (MLA + DeepSeekMoE) exported by edge-distill. Linear weights are stored transposed ([in, out]) for MatMul.");
    }

    private string Attention(int layer, string x, (string Cos, string Sin) rope, string mask, string? cacheIndices)
    {
        var c = _config;
        string prefix = $"model.layers.{layer}.self_attn.";
        int heads = c.NumAttentionHeads;

        // Queries: [B, S, H] -> [B, heads, S, qk_head_dim], split into the no-RoPE and RoPE parts.
        string q = Linear(RmsNorm(Linear(x, prefix + "q_a_proj.weight"), prefix + "q_a_layernorm.weight"), prefix + "q_b_proj.weight");
        q = _g.Op("Transpose", [_g.Op("Reshape", [q, _g.Int64s(0, 0, heads, c.QkHeadDim)])], ("perm", new long[] { 0, 2, 1, 3 }));
        var qParts = _g.OpWithOutputs("Split", [q, _g.Int64s(c.QkNopeHeadDim, c.QkRopeHeadDim)], 2, ("axis", -1L));
        string qRope = ApplyRope(qParts[1], _g.Op("Unsqueeze", [rope.Cos, _g.Int64s(1)]), _g.Op("Unsqueeze", [rope.Sin, _g.Int64s(1)]), rank: 4);

        // The new positions' latent and RoPE key, appended to the cache.
        string compressed = Linear(x, prefix + "kv_a_proj_with_mqa.weight");
        var kvParts = _g.OpWithOutputs("Split", [compressed, _g.Int64s(c.KvLoraRank, c.QkRopeHeadDim)], 2, ("axis", -1L));
        string latent = RmsNorm(kvParts[0], prefix + "kv_a_layernorm.weight");
        string kRope = ApplyRope(kvParts[1], rope.Cos, rope.Sin, rank: 3);
        string allLatent = AppendToCache(PastName(layer, LatentCache), PresentName(layer, LatentCache), latent, cacheIndices);
        string allRope = AppendToCache(PastName(layer, RopeKeyCache), PresentName(layer, RopeKeyCache), kRope, cacheIndices);

        // kv_b_proj ([heads * (nope + v), rank]) split into W_UK [heads, nope, rank] and W_UV^T [heads, rank, v].
        var (keyUp, valueUp) = SplitKvUpProjection(prefix + "kv_b_proj.weight");
        string qLatent = _g.Op("MatMul", [qParts[0], keyUp]);                                   // [B, heads, S, rank]
        string latentT = _g.Op("Transpose", [_g.Op("Unsqueeze", [allLatent, _g.Int64s(1)])], ("perm", new long[] { 0, 1, 3, 2 })); // [B, 1, rank, T]
        string ropeT = _g.Op("Transpose", [_g.Op("Unsqueeze", [allRope, _g.Int64s(1)])], ("perm", new long[] { 0, 1, 3, 2 }));     // [B, 1, dr, T]
        string scores = _g.Op("Add", [_g.Op("MatMul", [qLatent, latentT]), _g.Op("MatMul", [qRope, ropeT])]);
        scores = _g.Op("Mul", [scores, _g.Scalar((float)Math.Pow(c.QkHeadDim, -0.5))]);
        scores = _g.Op("Where", [mask, scores, _g.Scalar(float.NegativeInfinity)]);
        string probabilities = _g.Op("Softmax", [scores], ("axis", -1L));
        string context = _g.Op("MatMul", [probabilities, _g.Op("Unsqueeze", [allLatent, _g.Int64s(1)])]); // [B, heads, S, rank]
        string values = _g.Op("MatMul", [context, valueUp]);                                            // [B, heads, S, v]
        values = _g.Op("Reshape", [_g.Op("Transpose", [values], ("perm", new long[] { 0, 2, 1, 3 })), _g.Int64s(0, 0, heads * c.VHeadDim)]);
        return Linear(values, prefix + "o_proj.weight");
    }

    private (string KeyUp, string ValueUpTransposed) SplitKvUpProjection(string name)
    {
        var c = _config;
        var (_, data) = _weights[name];
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

    /// <summary>cos and sin of the RoPE angles, [B, S, qk_rope_head_dim], from position_ids.</summary>
    private (string Cos, string Sin) RopeTables(string positionIds)
    {
        int dim = _config.QkRopeHeadDim;
        var inverse = new float[dim / 2];
        for (int i = 0; i < inverse.Length; i++)
            inverse[i] = (float)(1.0 / Math.Pow(_config.RopeTheta, 2.0 * i / dim));
        string frequencies = _g.Op("Mul", [
            _g.Op("Unsqueeze", [_g.Op("Cast", [positionIds], ("to", (long)DataType.Float)), _g.Int64s(-1)]),
            _g.Initializer("rope.inv_freq", inverse, inverse.Length)]);
        string angles = _g.Op("Concat", [frequencies, frequencies], ("axis", -1L));
        return (_g.Op("Cos", [angles]), _g.Op("Sin", [angles]));
    }

    private string ApplyRope(string x, string cos, string sin, int rank)
    {
        int dim = _config.QkRopeHeadDim;
        if (_config.RopeInterleave)
        {
            long[] pairs = [.. Enumerable.Repeat(0L, rank - 1), dim / 2, 2];
            long[] perm = [.. Enumerable.Range(0, rank - 1).Select(i => (long)i), rank, rank - 1];
            long[] back = [.. Enumerable.Repeat(0L, rank - 1), dim];
            x = _g.Op("Reshape", [_g.Op("Transpose", [_g.Op("Reshape", [x, _g.Int64s(pairs)])], ("perm", perm)), _g.Int64s(back)]);
        }
        var halves = _g.OpWithOutputs("Split", [x, _g.Int64s(dim / 2, dim / 2)], 2, ("axis", -1L));
        string rotated = _g.Op("Concat", [_g.Op("Neg", [halves[1]]), halves[0]], ("axis", -1L));
        return _g.Op("Add", [_g.Op("Mul", [x, cos]), _g.Op("Mul", [rotated, sin])]);
    }

    /// <summary>
    /// [B, 1, S, T] boolean: key j is visible to a query at position p when j &lt;= p and
    /// attention_mask[j] is 1. Positions are absolute, so this holds for both cache layouts.
    /// </summary>
    private string AttentionMask(string positionIds, string attentionMask)
    {
        string keyCount = _g.Op("Squeeze", [_g.Op("Gather", [_g.Op("Shape", [attentionMask]), _g.Int64s(1)], ("axis", 0L))]);
        string keys = _g.Op("Range", [_g.Op("Squeeze", [_g.Int64s(0)]), keyCount, _g.Op("Squeeze", [_g.Int64s(1)])]);           // [T]
        string causal = _g.Op("LessOrEqual", [keys, _g.Op("Unsqueeze", [positionIds, _g.Int64s(-1)])]);                       // [B, S, T]
        string padding = _g.Op("Unsqueeze", [_g.Op("Cast", [attentionMask], ("to", (long)DataType.Bool)), _g.Int64s(1)]);      // [B, 1, T]
        return _g.Op("Unsqueeze", [_g.Op("And", [causal, padding]), _g.Int64s(1)]);                                         // [B, 1, S, T]
    }

    /// <summary>Shared layout: [B, S, 2] (row, position) pairs where the new positions go in the cache.</summary>
    private string CacheWriteIndices(string positionIds)
    {
        string rows = _g.Op("Range", [_g.Op("Squeeze", [_g.Int64s(0)]),
            _g.Op("Squeeze", [_g.Op("Gather", [_g.Op("Shape", [positionIds]), _g.Int64s(0)], ("axis", 0L))]), _g.Op("Squeeze", [_g.Int64s(1)])]);
        string rowPerToken = _g.Op("Expand", [_g.Op("Unsqueeze", [rows, _g.Int64s(-1)]), _g.Op("Shape", [positionIds])]);     // [B, S]
        return _g.Op("Concat", [_g.Op("Unsqueeze", [rowPerToken, _g.Int64s(-1)]), _g.Op("Unsqueeze", [positionIds, _g.Int64s(-1)])], ("axis", -1L));
    }

    /// <summary>Concatenated: past then the new rows. Shared: the new rows written into the buffer at their positions.</summary>
    private string AppendToCache(string past, string present, string rows, string? cacheIndices) => cacheIndices is null
        ? _g.OpNamed("Concat", present, [past, rows], ("axis", 1L))
        : _g.OpNamed("ScatterND", present, [past, cacheIndices, rows]);

    private string Mlp(string x, string prefix)
    {
        string gate = Linear(x, prefix + "gate_proj.weight");
        string up = Linear(x, prefix + "up_proj.weight");
        return Linear(_g.Op("Mul", [Silu(gate), up]), prefix + "down_proj.weight");
    }

    private string Moe(string x, string prefix)
    {
        var c = _config;
        int experts = c.NRoutedExperts, perGroup = experts / c.NGroup;
        string flat = _g.Op("Reshape", [x, _g.Int64s(-1, c.HiddenSize)]);                        // [N, H]

        // Router: sigmoid scores; the bias only steers selection; groups scored by their top two.
        string scores = _g.Op("Sigmoid", [Linear(flat, prefix + "gate.weight")]);                 // [N, E]
        string forChoice = _g.Op("Add", [scores, Weight(prefix + "gate.e_score_correction_bias")]);
        string grouped = _g.Op("Reshape", [forChoice, _g.Int64s(-1, c.NGroup, perGroup)]);
        string groupTop2 = _g.OpWithOutputs("TopK", [grouped, _g.Int64s(2)], 2, ("axis", -1L))[0];
        string groupScores = _g.Op("ReduceSum", [groupTop2, _g.Int64s(-1)], ("keepdims", 0L));  // [N, G]
        string groupIndices = _g.OpWithOutputs("TopK", [groupScores, _g.Int64s(c.TopkGroup)], 2, ("axis", -1L))[1];
        string groupMask = _g.Op("ScatterElements", [Zeros(groupScores), groupIndices, Ones(groupIndices)], ("axis", 1L));
        string keep = _g.Op("Cast", [_g.Op("Unsqueeze", [groupMask, _g.Int64s(-1)])], ("to", (long)DataType.Bool));
        string masked = _g.Op("Reshape", [_g.Op("Where", [keep, grouped, _g.Scalar(0f)]), _g.Int64s(-1, experts)]);
        string chosen = _g.OpWithOutputs("TopK", [masked, _g.Int64s(c.NumExpertsPerTok)], 2, ("axis", -1L))[1];
        string weights = _g.Op("GatherElements", [scores, chosen], ("axis", 1L));
        if (c.NormTopkProb)
        {
            string sum = _g.Op("ReduceSum", [weights, _g.Int64s(-1)], ("keepdims", 1L));
            weights = _g.Op("Div", [weights, _g.Op("Add", [sum, _g.Scalar(1e-20f)])]);
        }
        weights = _g.Op("Mul", [weights, _g.Scalar(c.RoutedScalingFactor)]);
        string routing = _g.Op("ScatterElements", [Zeros(scores), chosen, weights], ("axis", 1L)); // [N, E], zero where not routed

        // Every expert on every token in two 2-D MatMuls: the gate and up projections of all experts
        // side by side ([H, 2 x E x I]), then the down projections stacked ([E x I, H]) after the
        // routing weights scale each expert's activations, so that the MatMul's own sum over E x I
        // is the weighted sum over experts. Two plain weights quantize as two MatMulNBits.
        int width = experts * c.MoeIntermediateSize;
        var gateUp = _g.OpWithOutputs("Split", [_g.Op("MatMul", [flat, ExpertGateUpWeights(prefix)]), _g.Int64s(width, width)], 2, ("axis", -1L));
        string activations = _g.Op("Reshape", [_g.Op("Mul", [Silu(gateUp[0]), gateUp[1]]), _g.Int64s(-1, experts, c.MoeIntermediateSize)]);
        string weighted = _g.Op("Mul", [activations, _g.Op("Unsqueeze", [routing, _g.Int64s(2)])]);                    // [N, E, I]
        string routed = _g.Op("MatMul", [_g.Op("Reshape", [weighted, _g.Int64s(-1, width)]), ExpertDownWeights(prefix)]); // [N, H]
        routed = _g.Op("Reshape", [routed, _g.Op("Shape", [x])]);
        return _g.Op("Add", [routed, Mlp(x, prefix + "shared_experts.")]);
    }

    /// <summary>[H, 2 x E x I]: column e x I + i is expert e's gate row i, column (E + e) x I + i its up row i.</summary>
    private string ExpertGateUpWeights(string prefix)
    {
        int experts = _config.NRoutedExperts, inner = _config.MoeIntermediateSize, hidden = _config.HiddenSize, columns = 2 * experts * inner;
        var combined = new float[hidden * columns];
        for (int e = 0; e < experts; e++)
        {
            foreach (var (projection, offset) in new[] { ("gate_proj", 0), ("up_proj", experts * inner) })
            {
                var weight = _weights[$"{prefix}experts.{e}.{projection}.weight"].Data; // [I, H]
                for (int i = 0; i < inner; i++)
                    for (int h = 0; h < hidden; h++)
                        combined[h * columns + offset + e * inner + i] = weight[i * hidden + h];
            }
        }
        return _g.Initializer($"{prefix}experts.gate_up_proj.weight_t", combined, hidden, columns);
    }

    /// <summary>[E x I, H]: row e x I + i is column i of expert e's down projection.</summary>
    private string ExpertDownWeights(string prefix)
    {
        int experts = _config.NRoutedExperts, inner = _config.MoeIntermediateSize, hidden = _config.HiddenSize;
        var stacked = new float[experts * inner * hidden];
        for (int e = 0; e < experts; e++)
            Transpose(_weights[$"{prefix}experts.{e}.down_proj.weight"].Data, hidden, inner, stacked.AsSpan(e * inner * hidden));
        return _g.Initializer($"{prefix}experts.down_proj.weight_t", stacked, experts * inner, hidden);
    }

    private void LmHead(string h, string inputIds, string embedding)
    {
        var c = _config;
        string flat = _g.Op("Reshape", [h, _g.Int64s(-1, c.HiddenSize)]);
        string logits = c.TieWordEmbeddings
            ? _g.Op("Gemm", [flat, embedding], ("transB", 1L))
            : _g.Op("MatMul", [flat, TransposedWeight("lm_head.weight")]);
        string shape = _g.Op("Concat", [_g.Op("Shape", [inputIds]), _g.Int64s(c.VocabSize)], ("axis", 0L));
        _g.OpNamed("Reshape", "logits", [logits, shape]);
    }

    private string RmsNorm(string x, string weightName)
    {
        string variance = _g.Op("ReduceMean", [_g.Op("Mul", [x, x])], ("axes", new long[] { -1 }), ("keepdims", 1L));
        string normalized = _g.Op("Div", [x, _g.Op("Sqrt", [_g.Op("Add", [variance, _g.Scalar(_config.RmsNormEps)])])]);
        return _g.Op("Mul", [Weight(weightName), normalized]);
    }

    private string Silu(string x) => _g.Op("Mul", [x, _g.Op("Sigmoid", [x])]);

    private string Linear(string x, string weightName) => _g.Op("MatMul", [x, TransposedWeight(weightName)]);

    private string Zeros(string like) => _g.Op("ConstantOfShape", [_g.Op("Shape", [like])], ("value", FloatTensor(0f)));

    private string Ones(string like) => _g.Op("ConstantOfShape", [_g.Op("Shape", [like])], ("value", FloatTensor(1f)));

    private static TensorProto FloatTensor(float value)
    {
        var tensor = new TensorProto { DataType = (int)DataType.Float };
        tensor.Dims.Add(1);
        tensor.FloatData.Add(value);
        return tensor;
    }

    private string Weight(string name)
    {
        var (shape, data) = _weights[name];
        return _g.Initializer(name, data, shape);
    }

    private string TransposedWeight(string name)
    {
        var (shape, data) = _weights[name];
        int rows = (int)shape[0], columns = (int)shape[1];
        var transposed = new float[data.Length];
        Transpose(data, rows, columns, transposed);
        return _g.Initializer(name + "_t", transposed, columns, rows);
    }

    private static void Transpose(ReadOnlySpan<float> source, int rows, int columns, Span<float> destination)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < columns; col++)
                destination[col * rows + r] = source[r * columns + col];
        }
    }
}

/// <summary>How the exported decoder keeps its state between steps.</summary>
public enum CacheLayout
{
    /// <summary>Optimum style: present = concat(past, new); the state grows every step.</summary>
    Concat,

    /// <summary>
    /// onnxruntime-genai's past_present_share_buffer: past and present are one buffer of the
    /// context's capacity; the graph writes the new rows at position_ids and the runtime feeds
    /// the same buffer back, so nothing is reallocated or copied between steps.
    /// </summary>
    Shared,
}
