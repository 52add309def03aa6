using Edge.Distill.Modeling;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;

namespace Edge.Distill.Export;

/// <summary>
/// Writes a dense Llama-family decoder (Qwen2, Llama) as an ONNX decoder with the runtime's
/// conventions. Each layer's cache is two state tensors, keys and values, each
/// [B, positions, kv_heads x head_dim]: the same shape family as MLA's latent, so both cache
/// layouts and the batched decoder work unchanged. Grouped-query attention broadcasts each
/// key/value head over its group of query heads instead of repeating the cache.
/// </summary>
internal sealed class DenseOnnxExporter
{
    public const string KeyCache = "key";
    public const string ValueCache = "value";

    private readonly DenseDecoderConfig _config;
    private readonly DecoderGraph _d;
    private readonly OnnxGraphBuilder _g;

    private DenseOnnxExporter(DenseDecoderConfig config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, CacheLayout layout, ExternalData? external)
    {
        _config = config;
        _d = new DecoderGraph(weights, layout, config.RmsNormEps, external);
        _g = _d.G;
    }

    /// <param name="externalData">Weights to path.data (imports: no 2 GB limit, one weight in memory at a time, memory-mappable).</param>
    public static void Export(DenseDecoderConfig config, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string path, CacheLayout layout, bool externalData = false) =>
        DecoderGraph.Write(path, externalData, external => new DenseOnnxExporter(config, weights, layout, external).Build());

    private int KvWidth => _config.NumKeyValueHeads * _config.HeadDim;

    private ModelProto Build()
    {
        var c = _config;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _d.StateInput(layer, KeyCache, KvWidth);
            _d.StateInput(layer, ValueCache, KvWidth);
        }
        string embedding = _d.Weight("model.embed_tokens.weight");
        string h = _g.Op("Gather", [embedding, _d.InputIds], ("axis", 0L));
        var rope = _d.RopeTables(c.InverseFrequencies());
        // [B, 1, S, D]: one table for every head.
        var headRope = (_g.Op("Unsqueeze", [rope.Cos, _g.Int64s(1)]), _g.Op("Unsqueeze", [rope.Sin, _g.Int64s(1)]));
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            h = _g.Op("Add", [h, Attention(layer, _d.RmsNorm(h, prefix + "input_layernorm.weight"), headRope)]);
            h = _g.Op("Add", [h, _d.Mlp(_d.RmsNorm(h, prefix + "post_attention_layernorm.weight"), prefix + "mlp.")]);
        }
        h = _d.RmsNorm(h, "model.norm.weight");
        _d.LmHead(h, c.HiddenSize, c.VocabSize, c.TieWordEmbeddings, embedding);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            _d.StateOutput(layer, KeyCache, KvWidth);
            _d.StateOutput(layer, ValueCache, KvWidth);
        }
        return _d.Build($"{c.ModelType} architecture (grouped-query attention, SwiGLU) imported by edge-distill. Linear weights are stored transposed ([in, out]) for MatMul.");
    }

    private string Attention(int layer, string x, (string Cos, string Sin) rope)
    {
        var c = _config;
        string prefix = $"model.layers.{layer}.self_attn.";
        int kvHeads = c.NumKeyValueHeads, groups = c.QueryGroups, d = c.HeadDim;

        // Queries [B, kv_heads, groups, S, D]: query head h belongs to key/value head h / groups, as repeat_kv does.
        string q = _g.Op("Transpose", [_g.Op("Reshape", [_d.Linear(x, prefix + "q_proj.weight"), _g.Int64s(0, 0, c.NumAttentionHeads, d)])], ("perm", new long[] { 0, 2, 1, 3 }));
        q = _d.ApplyRope(q, rope.Cos, rope.Sin, rank: 4, d, interleave: false);
        q = _g.Op("Reshape", [q, _g.Int64s(0, kvHeads, groups, -1, d)]);

        // The new keys (rotated) and values, [B, S, kv_heads x D], appended to the cache.
        string k = _g.Op("Transpose", [_g.Op("Reshape", [_d.Linear(x, prefix + "k_proj.weight"), _g.Int64s(0, 0, kvHeads, d)])], ("perm", new long[] { 0, 2, 1, 3 }));
        k = _d.ApplyRope(k, rope.Cos, rope.Sin, rank: 4, d, interleave: false);
        k = _g.Op("Reshape", [_g.Op("Transpose", [k], ("perm", new long[] { 0, 2, 1, 3 })), _g.Int64s(0, 0, KvWidth)]);
        string allKeys = _d.AppendToCache(layer, KeyCache, k);
        string allValues = _d.AppendToCache(layer, ValueCache, _d.Linear(x, prefix + "v_proj.weight"));

        // [B, T, kv_heads x D] -> [B, kv_heads, 1, T, D] (keys transposed to [.., D, T]).
        string keys = _g.Op("Transpose", [_g.Op("Reshape", [allKeys, _g.Int64s(0, 0, kvHeads, 1, d)])], ("perm", new long[] { 0, 2, 3, 4, 1 }));
        string values = _g.Op("Transpose", [_g.Op("Reshape", [allValues, _g.Int64s(0, 0, kvHeads, 1, d)])], ("perm", new long[] { 0, 2, 3, 1, 4 }));
        string scores = _g.Op("Mul", [_g.Op("MatMul", [q, keys]), _g.Scalar((float)Math.Pow(d, -0.5))]);  // [B, kvh, g, S, T]
        scores = _g.Op("Where", [_g.Op("Unsqueeze", [_d.Mask, _g.Int64s(1)]), scores, _g.Scalar(float.NegativeInfinity)]);
        string context = _g.Op("MatMul", [_g.Op("Softmax", [scores], ("axis", -1L)), values]);              // [B, kvh, g, S, D]
        context = _g.Op("Reshape", [context, _g.Int64s(0, c.NumAttentionHeads, -1, d)]);                     // [B, H, S, D]
        context = _g.Op("Reshape", [_g.Op("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 })), _g.Int64s(0, 0, c.NumAttentionHeads * d)]);
        return _d.Linear(context, prefix + "o_proj.weight");
    }
}
