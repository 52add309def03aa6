using Edge.Distill.Checkpoints;
using Edge.Distill.Modeling;

namespace Edge.Distill.Import;

/// <summary>
/// Every tensor name and shape a Hugging Face checkpoint of a config must hold, in PyTorch's
/// [out, in] order: what import checks before converting anything, so a wrong shard or a config
/// that does not match the weights fails up front, by name.
/// </summary>
internal static class ExpectedTensors
{
    public static Dictionary<string, long[]> For(HuggingFaceConfig config) =>
        config.DeepSeek is { } deepSeek ? ForDeepSeek(deepSeek) : ForDense(config.Dense!);

    public static Dictionary<string, long[]> ForDense(DenseDecoderConfig c)
    {
        long h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim;
        var tensors = Common(h, c.VocabSize, c.TieWordEmbeddings);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string p = $"model.layers.{layer}.";
            tensors[p + "input_layernorm.weight"] = [h];
            tensors[p + "post_attention_layernorm.weight"] = [h];
            tensors[p + "self_attn.q_proj.weight"] = [q, h];
            tensors[p + "self_attn.k_proj.weight"] = [kv, h];
            tensors[p + "self_attn.v_proj.weight"] = [kv, h];
            tensors[p + "self_attn.o_proj.weight"] = [h, q];
            if (c.QkvBias)
            {
                tensors[p + "self_attn.q_proj.bias"] = [q];
                tensors[p + "self_attn.k_proj.bias"] = [kv];
                tensors[p + "self_attn.v_proj.bias"] = [kv];
            }
            Mlp(tensors, p + "mlp.", h, c.IntermediateSize);
        }
        return tensors;
    }

    public static Dictionary<string, long[]> ForDeepSeek(DeepSeekV3Config c)
    {
        long h = c.HiddenSize, heads = c.NumAttentionHeads;
        var tensors = Common(h, c.VocabSize, c.TieWordEmbeddings);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string p = $"model.layers.{layer}.", a = p + "self_attn.";
            tensors[p + "input_layernorm.weight"] = [h];
            tensors[p + "post_attention_layernorm.weight"] = [h];
            if (c.QLoraRank is int rank)
            {
                tensors[a + "q_a_proj.weight"] = [rank, h];
                tensors[a + "q_a_layernorm.weight"] = [rank];
                tensors[a + "q_b_proj.weight"] = [heads * c.QkHeadDim, rank];
            }
            else
            {
                tensors[a + "q_proj.weight"] = [heads * c.QkHeadDim, h];
            }
            tensors[a + "kv_a_proj_with_mqa.weight"] = [c.KvLoraRank + c.QkRopeHeadDim, h];
            tensors[a + "kv_a_layernorm.weight"] = [c.KvLoraRank];
            tensors[a + "kv_b_proj.weight"] = [heads * (c.QkNopeHeadDim + c.VHeadDim), c.KvLoraRank];
            tensors[a + "o_proj.weight"] = [h, heads * c.VHeadDim];
            if (layer < c.FirstKDenseReplace)
            {
                Mlp(tensors, p + "mlp.", h, c.IntermediateSize);
                continue;
            }
            tensors[p + "mlp.gate.weight"] = [c.NRoutedExperts, h];
            if (c.TopkMethod == "noaux_tc")
                tensors[p + "mlp.gate.e_score_correction_bias"] = [c.NRoutedExperts];
            for (int e = 0; e < c.NRoutedExperts; e++)
                Mlp(tensors, $"{p}mlp.experts.{e}.", h, c.MoeIntermediateSize);
            if (c.NSharedExperts > 0)
                Mlp(tensors, p + "mlp.shared_experts.", h, (long)c.MoeIntermediateSize * c.NSharedExperts);
        }
        return tensors;
    }

    private static Dictionary<string, long[]> Common(long hidden, long vocabulary, bool tied)
    {
        var tensors = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = [vocabulary, hidden],
            ["model.norm.weight"] = [hidden],
        };
        if (!tied)
            tensors["lm_head.weight"] = [vocabulary, hidden];
        return tensors;
    }

    private static void Mlp(Dictionary<string, long[]> tensors, string prefix, long hidden, long inner)
    {
        tensors[prefix + "gate_proj.weight"] = [inner, hidden];
        tensors[prefix + "up_proj.weight"] = [inner, hidden];
        tensors[prefix + "down_proj.weight"] = [hidden, inner];
    }
}
