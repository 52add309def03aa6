namespace Edge.Distill.Gguf;

/// <summary>Adds a checkpoint's tensors to a GGUF file under llama.cpp's names, each in the type <see cref="GgufWeightTypes.For"/> picks.</summary>
internal sealed class GgufTensors(GgufWriter gguf, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, GgufWeightType type)
{
    public bool Has(string hfName) => weights.ContainsKey(hfName);

    public (long[] Shape, float[] Data) this[string hfName] =>
        weights.TryGetValue(hfName, out var w) ? w : throw new InvalidDataException($"the checkpoint has no '{hfName}'.");

    /// <summary>A tensor computed from the checkpoint (split, stacked or permuted); <paramref name="data"/> runs while the file is written.</summary>
    public void Add(string ggufName, long[] shape, Func<float[]> data)
    {
        var ggml = type.For(ggufName, shape);
        gguf.AddTensor(ggufName, shape, ggml, () => GgmlCodec.Encode(data(), ggml));
    }

    /// <summary>A tensor's shape without reading it (a Hugging Face folder knows it from the header).</summary>
    public long[] Shape(string hfName) => weights is Checkpoints.CheckpointWeights lazy && lazy.ContainsKey(hfName) ? lazy.ShapeOf(hfName) : this[hfName].Shape;

    /// <summary>Copies a tensor under a new name; it is read only when the file is written.</summary>
    public void Copy(string ggufName, string hfName) => Add(ggufName, Shape(hfName), () => this[hfName].Data);
}
