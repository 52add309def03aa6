using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Inference;

/// <summary>
/// What the runtime needs to know about a decoder graph, read from its inputs and outputs by
/// convention: <c>input_ids</c>, <c>attention_mask</c>, optional <c>position_ids</c>, <c>logits</c>,
/// and recurrent state where every <c>present*</c> output feeds the <c>past*</c> input of the same
/// name at the next step. The runtime never needs to know whether the state is a full KV cache
/// or an MLA latent.
/// </summary>
internal sealed record DecoderSignature(
    bool HasPositionIds,
    IReadOnlyList<StateTensor> State,
    int VocabularySize,
    bool HasLogitsToKeep = false)
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string PositionIds = "position_ids";
    public const string Logits = "logits";

    /// <summary>Optional input ([1] int64; 0: every position): how many of the last positions get logits. Older graphs lack it and give every position.</summary>
    public const string LogitsToKeep = "logits_to_keep";

    public static DecoderSignature Read(InferenceSession session, string modelPath)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        foreach (string required in new[] { InputIds, AttentionMask })
        {
            if (!inputs.ContainsKey(required))
                throw new ModelLoadException($"{modelPath} has no '{required}' input; inputs are: {string.Join(", ", inputs.Keys)}.");
        }
        if (!outputs.TryGetValue(Logits, out var logits))
            throw new ModelLoadException($"{modelPath} has no '{Logits}' output; outputs are: {string.Join(", ", outputs.Keys)}.");
        int vocabulary = logits.Dimensions[^1];
        if (vocabulary <= 0)
            throw new ModelLoadException($"{modelPath}: the last dimension of '{Logits}' (the vocabulary) must be fixed.");

        var state = new List<StateTensor>();
        foreach (var (name, meta) in inputs)
        {
            if (!name.StartsWith("past", StringComparison.Ordinal))
                continue;
            string present = PresentNameFor(name);
            if (!outputs.ContainsKey(present))
                throw new ModelLoadException($"{modelPath}: input '{name}' has no matching output '{present}'.");
            if (meta.ElementDataType != TensorElementType.Float)
                throw new ModelLoadException($"{modelPath}: state '{name}' is {meta.ElementDataType}; only float state is supported.");
            state.Add(new StateTensor(name, present, meta.Dimensions, SequenceAxis(name, meta.Dimensions, modelPath)));
        }
        foreach (string output in outputs.Keys.Where(o => o.StartsWith("present", StringComparison.Ordinal)))
        {
            if (!state.Any(s => s.PresentName == output))
                throw new ModelLoadException($"{modelPath}: output '{output}' has no matching past input.");
        }
        return new DecoderSignature(inputs.ContainsKey(PositionIds), state, vocabulary, inputs.ContainsKey(LogitsToKeep));
    }

    /// <summary>Optimum names past_key_values.N.x / present.N.x; other layouts past_x / present_x.</summary>
    internal static string PresentNameFor(string past) =>
        past.StartsWith("past_key_values", StringComparison.Ordinal)
            ? "present" + past["past_key_values".Length..]
            : "present" + past["past".Length..];

    // Axis 0 is the batch; the one other symbolic axis is the sequence the state grows along.
    private static int SequenceAxis(string name, int[] dims, string modelPath)
    {
        var symbolic = Enumerable.Range(1, dims.Length - 1).Where(i => dims[i] < 0).ToList();
        if (symbolic.Count != 1)
            throw new ModelLoadException($"{modelPath}: state '{name}' must have exactly one symbolic axis besides the batch (its sequence); it has dims [{string.Join(", ", dims)}].");
        return symbolic[0];
    }
}

/// <summary>One recurrent state tensor: its past input, present output and the axis it grows along.</summary>
internal sealed record StateTensor(string PastName, string PresentName, int[] Dimensions, int SequenceAxis)
{
    /// <summary>A shared buffer's shape: the sequence axis is the capacity.</summary>
    public long[] CapacityShape(int batch, int capacity)
    {
        var shape = EmptyShape(batch);
        shape[SequenceAxis] = capacity;
        return shape;
    }

    public long[] EmptyShape(int batch)
    {
        var shape = new long[Dimensions.Length];
        for (int i = 0; i < shape.Length; i++)
            shape[i] = i == 0 ? batch : i == SequenceAxis ? 0 : Dimensions[i];
        return shape;
    }
}
