using Edge.Distill.Modeling;

namespace Edge.Distill.Gguf;

/// <summary>
/// A dense Qwen2 or Llama checkpoint as llama.cpp's "qwen2" or "llama" GGUF, laid out as
/// llama.cpp's converter does. llama.cpp rotates adjacent pairs for llama (Hugging Face rotates
/// halves), so the q and k projections of a llama are permuted row-wise to match; Qwen2 uses
/// the half rotation in both. Llama 3.1's RoPE scaling becomes the rope_freqs tensor.
/// </summary>
internal static class DenseGgufExporter
{
    public static string ArchitectureOf(DenseDecoderConfig c) => c.ModelType == "qwen2" ? "qwen2" : "llama";

    public static GgufWriter Build(DenseDecoderConfig c, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, string tokenizerDirectory, GgufWeightType type, string name)
    {
        var gguf = new GgufWriter();
        string a = ArchitectureOf(c);
        bool llama = a == "llama";
        gguf.Add("general.architecture", GgufValue.Of(a));
        gguf.Add("general.name", GgufValue.Of(name));
        gguf.Add("general.file_type", GgufValue.Of(type.FileType()));
        gguf.Add($"{a}.vocab_size", GgufValue.Of((uint)c.VocabSize));
        gguf.Add($"{a}.context_length", GgufValue.Of((uint)c.MaxPositionEmbeddings));
        gguf.Add($"{a}.embedding_length", GgufValue.Of((uint)c.HiddenSize));
        gguf.Add($"{a}.feed_forward_length", GgufValue.Of((uint)c.IntermediateSize));
        gguf.Add($"{a}.block_count", GgufValue.Of((uint)c.NumHiddenLayers));
        gguf.Add($"{a}.attention.head_count", GgufValue.Of((uint)c.NumAttentionHeads));
        gguf.Add($"{a}.attention.head_count_kv", GgufValue.Of((uint)c.NumKeyValueHeads));
        gguf.Add($"{a}.attention.key_length", GgufValue.Of((uint)c.HeadDim));
        gguf.Add($"{a}.attention.value_length", GgufValue.Of((uint)c.HeadDim));
        gguf.Add($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Of(c.RmsNormEps));
        gguf.Add($"{a}.rope.dimension_count", GgufValue.Of((uint)c.HeadDim));
        gguf.Add($"{a}.rope.freq_base", GgufValue.Of((float)c.RopeTheta));
        GgufVocabulary.Write(gguf, tokenizerDirectory, c.VocabSize, llama ? "llama-bpe" : "qwen2", c.BosTokenId, c.EosTokenIds.Count > 0 ? c.EosTokenIds[0] : null, c.PadTokenId);

        var t = new GgufTensors(gguf, weights, type);
        t.Copy("token_embd.weight", "model.embed_tokens.weight");
        t.Copy("output_norm.weight", "model.norm.weight");
        if (!c.TieWordEmbeddings)
            t.Copy("output.weight", "lm_head.weight");
        if (c.RopeScaling is { } scaling)
        {
            // llama.cpp divides each frequency by its factor: the plain frequency over the scaled one.
            var factors = Enumerable.Range(0, c.HeadDim / 2)
                .Select(i => 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / c.HeadDim))
                .Select(f => (float)(f / scaling.Scale(f)))
                .ToArray();
            t.Add("rope_freqs.weight", [factors.Length], () => factors);
        }
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string hf = $"model.layers.{layer}.", blk = $"blk.{layer}.";
            t.Copy(blk + "attn_norm.weight", hf + "input_layernorm.weight");
            foreach (var (g, h, heads) in new[] { ("attn_q", "q_proj", c.NumAttentionHeads), ("attn_k", "k_proj", c.NumKeyValueHeads), ("attn_v", "v_proj", 0) })
            {
                foreach (string part in new[] { "weight", "bias" })
                {
                    string source = $"{hf}self_attn.{h}.{part}";
                    if (part == "bias" && !t.Has(source))
                        continue;
                    long[] shape = t.Shape(source);
                    int rotatedHeads = heads;
                    int rowLength = (int)(shape.Aggregate(1L, (x, y) => x * y) / shape[0]);
                    t.Add($"{blk}{g}.{part}", shape, llama && rotatedHeads > 0 ? () => PairRows(t[source].Data, rotatedHeads, rowLength) : () => t[source].Data);
                }
            }
            t.Copy(blk + "attn_output.weight", hf + "self_attn.o_proj.weight");
            t.Copy(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight");
            t.Copy(blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight");
            t.Copy(blk + "ffn_up.weight", hf + "mlp.up_proj.weight");
            t.Copy(blk + "ffn_down.weight", hf + "mlp.down_proj.weight");
        }
        return gguf;
    }

    /// <summary>
    /// Within each head, rows (first half, second half) become interleaved pairs: row 2i + j of the
    /// result is row j x D/2 + i of the input, so adjacent-pair RoPE rotates what Hugging Face's half rotation did.
    /// </summary>
    private static float[] PairRows(float[] data, int heads, int rowLength)
    {
        int rows = data.Length / rowLength, headRows = rows / heads, half = headRows / 2;
        var result = new float[data.Length];
        for (int head = 0; head < heads; head++)
        {
            for (int i = 0; i < half; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    int from = head * headRows + j * half + i, to = head * headRows + 2 * i + j;
                    Array.Copy(data, (long)from * rowLength, result, (long)to * rowLength, rowLength);
                }
            }
        }
        return result;
    }
}
