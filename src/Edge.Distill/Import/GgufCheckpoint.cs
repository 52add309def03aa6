using Edge.Distill.Checkpoints;
using Edge.Distill.Gguf;
using Edge.Distill.Modeling;

namespace Edge.Distill.Import;

/// <summary>
/// A GGUF file's tensors under Hugging Face's names and shapes, the inverse of our GGUF writers:
/// llama's q and k rows un-paired, DeepSeek's attn_k_b and attn_v_b merged back into kv_b_proj,
/// stacked experts split per expert. Each tensor is read and dequantized to float32 on access,
/// and each expert reads only its own rows of the stacked tensor, so nothing is cached.
/// </summary>
internal sealed class GgufCheckpoint : CheckpointWeights
{
    private readonly GgufReader _gguf;
    private readonly Dictionary<string, (long[] Shape, Func<float[]> Read)> _tensors = new(StringComparer.Ordinal);

    public GgufCheckpoint(GgufReader gguf, HuggingFaceConfig config)
    {
        _gguf = gguf;
        if (config.DeepSeek is { } deepSeek)
            MapDeepSeek(deepSeek);
        else
            MapDense(config.Dense!);
    }

    /// <summary>Called with the stored bytes of each GGUF tensor read, for progress.</summary>
    public event Action<long>? Read;

    /// <summary>The ggml types the mapped tensors are stored in.</summary>
    public IReadOnlyList<string> StoredTypes => [.. _gguf.Tensors.Values.Select(t => t.Type.ToString()).Distinct().Order()];

    private GgufReader.TensorInfo Info(string name) =>
        _gguf.Tensors.TryGetValue(name, out var info) ? info : throw new InvalidDataException($"{_gguf.Path} has no tensor '{name}'.");

    /// <summary>A GGUF tensor that must have the shape the metadata gives it.</summary>
    private GgufReader.TensorInfo Checked(string name, long[] shape)
    {
        var info = Info(name);
        if (!info.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"{_gguf.Path}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}]; the metadata needs [{string.Join(", ", shape)}].");
        return info;
    }

    /// <summary>Elements [start, start + count) of a GGUF tensor (all of it by default) as float32.</summary>
    private float[] Load(string name, long start = 0, long? count = null)
    {
        var info = Info(name);
        long elements = count ?? info.Elements;
        TensorMemory.BeforeRead(elements * sizeof(float));
        var values = _gguf.ReadFloats(info, start, elements);
        Read?.Invoke(info.Bytes / (info.Elements / elements));
        return values;
    }

    /// <summary>A GGUF tensor under a Hugging Face name, checked against the shape the config gives it.</summary>
    private void Map(string hfName, string ggufName, long[] shape, Func<float[], float[]>? transform = null)
    {
        Checked(ggufName, shape);
        _tensors[hfName] = (shape, () => transform is null ? Load(ggufName) : transform(Load(ggufName)));
    }

    private void MapCommon(long hidden, long vocabulary, bool tied)
    {
        Map("model.embed_tokens.weight", "token_embd.weight", [vocabulary, hidden]);
        Map("model.norm.weight", "output_norm.weight", [hidden]);
        if (!tied)
            Map("lm_head.weight", "output.weight", [vocabulary, hidden]);
    }

    private void MapMlp(string hf, string blk, long hidden, long inner, string suffix = "")
    {
        Map(hf + "gate_proj.weight", $"{blk}ffn_gate{suffix}.weight", [inner, hidden]);
        Map(hf + "up_proj.weight", $"{blk}ffn_up{suffix}.weight", [inner, hidden]);
        Map(hf + "down_proj.weight", $"{blk}ffn_down{suffix}.weight", [hidden, inner]);
    }

    private void MapDense(DenseDecoderConfig c)
    {
        long h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim;
        bool llama = c.ModelType == "llama";
        MapCommon(h, c.VocabSize, c.TieWordEmbeddings);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string hf = $"model.layers.{layer}.", blk = $"blk.{layer}.";
            Map(hf + "input_layernorm.weight", blk + "attn_norm.weight", [h]);
            Map(hf + "post_attention_layernorm.weight", blk + "ffn_norm.weight", [h]);
            foreach (var (g, name, rows, heads) in new[] { ("attn_q", "q_proj", q, c.NumAttentionHeads), ("attn_k", "k_proj", kv, c.NumKeyValueHeads), ("attn_v", "v_proj", kv, 0) })
            {
                int pairedHeads = llama ? heads : 0;
                Map($"{hf}self_attn.{name}.weight", $"{blk}{g}.weight", [rows, h], pairedHeads > 0 ? d => UnpairRows(d, pairedHeads, (int)h) : null);
                if (c.QkvBias)
                    Map($"{hf}self_attn.{name}.bias", $"{blk}{g}.bias", [rows], pairedHeads > 0 ? d => UnpairRows(d, pairedHeads, 1) : null);
            }
            Map(hf + "self_attn.o_proj.weight", blk + "attn_output.weight", [h, q]);
            MapMlp(hf + "mlp.", blk, h, c.IntermediateSize);
        }
    }

    private void MapDeepSeek(DeepSeekV3Config c)
    {
        long h = c.HiddenSize, heads = c.NumAttentionHeads, rank = c.KvLoraRank, nope = c.QkNopeHeadDim, v = c.VHeadDim;
        MapCommon(h, c.VocabSize, c.TieWordEmbeddings);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string hf = $"model.layers.{layer}.", a = hf + "self_attn.", blk = $"blk.{layer}.";
            Map(hf + "input_layernorm.weight", blk + "attn_norm.weight", [h]);
            Map(hf + "post_attention_layernorm.weight", blk + "ffn_norm.weight", [h]);
            if (c.QLoraRank is int q)
            {
                Map(a + "q_a_proj.weight", blk + "attn_q_a.weight", [q, h]);
                Map(a + "q_a_layernorm.weight", blk + "attn_q_a_norm.weight", [q]);
                Map(a + "q_b_proj.weight", blk + "attn_q_b.weight", [heads * c.QkHeadDim, q]);
            }
            else
            {
                Map(a + "q_proj.weight", blk + "attn_q.weight", [heads * c.QkHeadDim, h]);
            }
            Map(a + "kv_a_proj_with_mqa.weight", blk + "attn_kv_a_mqa.weight", [rank + c.QkRopeHeadDim, h]);
            Map(a + "kv_a_layernorm.weight", blk + "attn_kv_a_norm.weight", [rank]);
            if (_gguf.Tensors.ContainsKey(blk + "attn_kv_b.weight"))
            {
                Map(a + "kv_b_proj.weight", blk + "attn_kv_b.weight", [heads * (nope + v), rank]); // older GGUFs keep it whole
            }
            else
            {
                string kB = blk + "attn_k_b.weight", vB = blk + "attn_v_b.weight";
                Checked(kB, [heads, rank, nope]);
                Checked(vB, [heads, v, rank]);
                _tensors[a + "kv_b_proj.weight"] = ([heads * (nope + v), rank], () => MergeKvB(Load(kB), Load(vB), (int)heads, (int)rank, (int)nope, (int)v));
            }
            Map(a + "o_proj.weight", blk + "attn_output.weight", [h, heads * v]);
            if (layer < c.FirstKDenseReplace)
            {
                MapMlp(hf + "mlp.", blk, h, c.IntermediateSize);
                continue;
            }
            Map(hf + "mlp.gate.weight", blk + "ffn_gate_inp.weight", [c.NRoutedExperts, h]);
            if (_gguf.Tensors.ContainsKey(blk + "exp_probs_b.bias"))
                Map(hf + "mlp.gate.e_score_correction_bias", blk + "exp_probs_b.bias", [c.NRoutedExperts]);
            long inner = c.MoeIntermediateSize;
            foreach (var (g, name, shape) in new[] { ("ffn_gate_exps", "gate_proj", new[] { inner, h }), ("ffn_up_exps", "up_proj", new[] { inner, h }), ("ffn_down_exps", "down_proj", new[] { h, inner }) })
            {
                string stacked = blk + g + ".weight";
                Checked(stacked, [c.NRoutedExperts, shape[0], shape[1]]);
                long size = shape[0] * shape[1];
                for (int e = 0; e < c.NRoutedExperts; e++)
                {
                    int expert = e;
                    _tensors[$"{hf}mlp.experts.{e}.{name}.weight"] = (shape, () => Load(stacked, expert * size, size));
                }
            }
            if (c.NSharedExperts > 0)
                MapMlp(hf + "mlp.shared_experts.", blk, h, inner * c.NSharedExperts, "_shexp");
        }
    }

    /// <summary>The inverse of the llama writer's pairing: row j x D/2 + i of the result is row 2i + j of the input, per head.</summary>
    private static float[] UnpairRows(float[] data, int heads, int rowLength)
    {
        int rows = data.Length / rowLength, headRows = rows / heads, half = headRows / 2;
        var result = new float[data.Length];
        for (int head = 0; head < heads; head++)
        {
            for (int i = 0; i < half; i++)
            {
                for (int j = 0; j < 2; j++)
                    Array.Copy(data, (long)(head * headRows + 2 * i + j) * rowLength, result, (long)(head * headRows + j * half + i) * rowLength, rowLength);
            }
        }
        return result;
    }

    private static float[] MergeKvB(float[] keyUp, float[] valueUp, int heads, int rank, int nope, int v)
    {
        var kvB = new float[heads * (nope + v) * rank];
        for (int head = 0; head < heads; head++)
        {
            for (int row = 0; row < nope + v; row++)
            {
                for (int r = 0; r < rank; r++)
                {
                    kvB[(head * (nope + v) + row) * rank + r] = row < nope
                        ? keyUp[(head * rank + r) * nope + row]
                        : valueUp[(head * v + row - nope) * rank + r];
                }
            }
        }
        return kvB;
    }

    public override (long[] Shape, float[] Data) this[string key] => (_tensors[key].Shape, _tensors[key].Read());

    public override IEnumerable<string> Keys => _tensors.Keys;

    public override int Count => _tensors.Count;

    public override bool ContainsKey(string key) => _tensors.ContainsKey(key);

    public override long[] ShapeOf(string key) => _tensors[key].Shape;
}
