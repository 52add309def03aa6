using Edge.Distill.Modeling;

namespace Edge.Distill.Gguf;

/// <summary>
/// A DeepSeek-V3 (or V2) checkpoint as a llama.cpp "deepseek2" GGUF: the tensor names, the
/// MLA split of kv_b_proj into attn_k_b / attn_v_b, stacked experts and the hyperparameters
/// llama.cpp reads, as its own converter (convert_hf_to_gguf.py) lays them out.
/// </summary>
internal static class DeepSeekGgufExporter
{
    public const string Architecture = "deepseek2";

    public static GgufWriter Build(DeepSeekV3Config c, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string tokenizerDirectory, GgufWeightType type, string name)
    {
        if (!c.RopeInterleave)
            throw new InvalidDataException("rope_interleave false is not llama.cpp's deepseek2 RoPE (it rotates adjacent pairs); refusing to write a GGUF that would compute something else.");
        var gguf = new GgufWriter();
        string a = Architecture;
        gguf.Add("general.architecture", GgufValue.Of(a));
        gguf.Add("general.name", GgufValue.Of(name));
        gguf.Add("general.file_type", GgufValue.Of(type.FileType()));
        gguf.Add($"{a}.vocab_size", GgufValue.Of((uint)c.VocabSize));
        gguf.Add($"{a}.context_length", GgufValue.Of((uint)c.MaxPositionEmbeddings));
        gguf.Add($"{a}.embedding_length", GgufValue.Of((uint)c.HiddenSize));
        gguf.Add($"{a}.feed_forward_length", GgufValue.Of((uint)c.IntermediateSize));
        gguf.Add($"{a}.block_count", GgufValue.Of((uint)c.NumHiddenLayers));
        gguf.Add($"{a}.attention.head_count", GgufValue.Of((uint)c.NumAttentionHeads));
        gguf.Add($"{a}.attention.head_count_kv", GgufValue.Of(1u)); // MLA runs as MQA over the latent
        gguf.Add($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Of(c.RmsNormEps));
        gguf.Add($"{a}.attention.q_lora_rank", GgufValue.Of((uint)(c.QLoraRank ?? 0)));
        gguf.Add($"{a}.attention.kv_lora_rank", GgufValue.Of((uint)c.KvLoraRank));
        gguf.Add($"{a}.attention.key_length", GgufValue.Of((uint)(c.KvLoraRank + c.QkRopeHeadDim)));
        gguf.Add($"{a}.attention.value_length", GgufValue.Of((uint)c.KvLoraRank));
        gguf.Add($"{a}.attention.key_length_mla", GgufValue.Of((uint)c.QkHeadDim));
        gguf.Add($"{a}.attention.value_length_mla", GgufValue.Of((uint)c.VHeadDim));
        gguf.Add($"{a}.rope.dimension_count", GgufValue.Of((uint)c.QkRopeHeadDim));
        gguf.Add($"{a}.rope.freq_base", GgufValue.Of(c.RopeTheta));
        gguf.Add($"{a}.leading_dense_block_count", GgufValue.Of((uint)c.FirstKDenseReplace));
        gguf.Add($"{a}.expert_count", GgufValue.Of((uint)c.NRoutedExperts));
        gguf.Add($"{a}.expert_used_count", GgufValue.Of((uint)c.NumExpertsPerTok));
        gguf.Add($"{a}.expert_shared_count", GgufValue.Of((uint)c.NSharedExperts));
        gguf.Add($"{a}.expert_feed_forward_length", GgufValue.Of((uint)c.MoeIntermediateSize));
        gguf.Add($"{a}.expert_weights_scale", GgufValue.Of(c.ScalesExpertWeights ? c.RoutedScalingFactor : 1f));
        gguf.Add($"{a}.expert_weights_norm", GgufValue.Of(c.NormTopkProb));
        gguf.Add($"{a}.expert_gating_func", GgufValue.Of(c.ScoringFunc == "sigmoid" ? 2u : 1u));
        // Keeping every group limits nothing, and llama.cpp refuses such a file outright
        // (GGML_ASSERT n_group_used < n_expert_groups): the group keys are written only when they limit.
        if (c.NGroup > 1 && c.TopkGroup < c.NGroup && c.TopkMethod != "greedy")
        {
            gguf.Add($"{a}.expert_group_count", GgufValue.Of((uint)c.NGroup));
            gguf.Add($"{a}.expert_group_used_count", GgufValue.Of((uint)c.TopkGroup));
        }
        if (c.Yarn is { } yarn)
        {
            gguf.Add($"{a}.rope.scaling.type", GgufValue.Of("yarn"));
            gguf.Add($"{a}.rope.scaling.factor", GgufValue.Of((float)yarn.Factor));
            gguf.Add($"{a}.rope.scaling.original_context_length", GgufValue.Of((uint)yarn.OriginalMaxPositionEmbeddings));
            gguf.Add($"{a}.rope.scaling.yarn_beta_fast", GgufValue.Of((float)yarn.BetaFast));
            gguf.Add($"{a}.rope.scaling.yarn_beta_slow", GgufValue.Of((float)yarn.BetaSlow));
            // llama.cpp's converter writes 0.1 x mscale_all_dim here and llama.cpp divides it back out.
            gguf.Add($"{a}.rope.scaling.yarn_log_multiplier", GgufValue.Of((float)(0.1 * yarn.MscaleAllDim)));
        }
        GgufVocabulary.Write(gguf, tokenizerDirectory, c.VocabSize, "deepseek-v3", c.BosTokenId, c.EosTokenId, c.PadTokenId);

        var t = new GgufTensors(gguf, weights, type);
        void Copy(string ggufName, string hfName) => t.Copy(ggufName, hfName);
        void Tensor(string ggufName, long[] shape, Func<float[]> data) => t.Add(ggufName, shape, data);

        Copy("token_embd.weight", "model.embed_tokens.weight");
        Copy("output_norm.weight", "model.norm.weight");
        if (!c.TieWordEmbeddings)
            Copy("output.weight", "lm_head.weight");
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string hf = $"model.layers.{layer}.", blk = $"blk.{layer}.";
            Copy(blk + "attn_norm.weight", hf + "input_layernorm.weight");
            if (c.QLoraRank is not null)
            {
                Copy(blk + "attn_q_a.weight", hf + "self_attn.q_a_proj.weight");
                Copy(blk + "attn_q_a_norm.weight", hf + "self_attn.q_a_layernorm.weight");
                Copy(blk + "attn_q_b.weight", hf + "self_attn.q_b_proj.weight");
            }
            else
            {
                Copy(blk + "attn_q.weight", hf + "self_attn.q_proj.weight");
            }
            Copy(blk + "attn_kv_a_mqa.weight", hf + "self_attn.kv_a_proj_with_mqa.weight");
            Copy(blk + "attn_kv_a_norm.weight", hf + "self_attn.kv_a_layernorm.weight");
            string kvB = hf + "self_attn.kv_b_proj.weight";
            Tensor(blk + "attn_k_b.weight", [c.NumAttentionHeads, c.KvLoraRank, c.QkNopeHeadDim], () => SplitKvB(c, t[kvB].Data).KeyUp);
            Tensor(blk + "attn_v_b.weight", [c.NumAttentionHeads, c.VHeadDim, c.KvLoraRank], () => SplitKvB(c, t[kvB].Data).ValueUp);
            Copy(blk + "attn_output.weight", hf + "self_attn.o_proj.weight");
            Copy(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight");
            if (layer < c.FirstKDenseReplace)
            {
                foreach (var (g, h) in new[] { ("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"), ("ffn_down", "down_proj") })
                    Copy($"{blk}{g}.weight", $"{hf}mlp.{h}.weight");
                continue;
            }
            Copy(blk + "ffn_gate_inp.weight", hf + "mlp.gate.weight");
            if (t.Has(hf + "mlp.gate.e_score_correction_bias"))
                Copy(blk + "exp_probs_b.bias", hf + "mlp.gate.e_score_correction_bias");
            foreach (var (g, h) in new[] { ("ffn_gate_exps", "gate_proj"), ("ffn_up_exps", "up_proj"), ("ffn_down_exps", "down_proj") })
            {
                string projection = h, prefix = hf;
                var first = t.Shape($"{prefix}mlp.experts.0.{projection}.weight");
                Tensor($"{blk}{g}.weight", [c.NRoutedExperts, first[0], first[1]], () => StackExperts(weights, prefix, projection, c.NRoutedExperts));
            }
            foreach (var (g, h) in new[] { ("ffn_gate_shexp", "gate_proj"), ("ffn_up_shexp", "up_proj"), ("ffn_down_shexp", "down_proj") })
                Copy($"{blk}{g}.weight", $"{hf}mlp.shared_experts.{h}.weight");
        }
        return gguf;
    }

    /// <summary>kv_b_proj [heads x (nope + v), rank] as llama.cpp's k_b [heads, rank, nope] (transposed) and v_b [heads, v, rank].</summary>
    private static (float[] KeyUp, float[] ValueUp) SplitKvB(DeepSeekV3Config c, float[] kvB)
    {
        int heads = c.NumAttentionHeads, nope = c.QkNopeHeadDim, v = c.VHeadDim, rank = c.KvLoraRank;
        var keyUp = new float[heads * rank * nope];
        var valueUp = new float[heads * v * rank];
        for (int head = 0; head < heads; head++)
        {
            for (int row = 0; row < nope + v; row++)
            {
                int source = (head * (nope + v) + row) * rank;
                for (int r = 0; r < rank; r++)
                {
                    if (row < nope)
                        keyUp[(head * rank + r) * nope + row] = kvB[source + r];
                    else
                        valueUp[(head * v + row - nope) * rank + r] = kvB[source + r];
                }
            }
        }
        return (keyUp, valueUp);
    }

    private static float[] StackExperts(IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string prefix, string projection, int experts)
    {
        var first = weights[$"{prefix}mlp.experts.0.{projection}.weight"].Data;
        var stacked = new float[(long)first.Length * experts];
        for (int e = 0; e < experts; e++)
        {
            var data = weights[$"{prefix}mlp.experts.{e}.{projection}.weight"].Data;
            if (data.Length != first.Length)
                throw new InvalidDataException($"expert {e}'s {projection} has {data.Length} weights, expert 0's has {first.Length}.");
            data.CopyTo(stacked, (long)e * first.Length);
        }
        return stacked;
    }
}
