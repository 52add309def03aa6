using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Inference;

/// <summary>
/// The recurrent state of one sequence between decoder steps. For a shared-buffer model it owns
/// fixed buffers (cache, attention mask, one-token inputs, logits) bound once to an IOBinding,
/// so a decode step allocates nothing; for a concatenating model it holds the latest present tensors.
/// </summary>
public sealed class DecoderState : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    internal DecoderState(int vocabularySize, int capacity)
    {
        LastLogits = new float[vocabularySize];
        Capacity = capacity;
    }

    /// <summary>Tokens the state covers so far.</summary>
    public int Length { get; internal set; }

    /// <summary>Most tokens the state can hold (the model's context).</summary>
    public int Capacity { get; }

    /// <summary>Logits of the last position of the last step.</summary>
    public float[] LastLogits { get; }

    /// <summary>Concatenating models: the current state tensors, replaced every step.</summary>
    internal OrtValue[] Past { get; set; } = [];

    /// <summary>Shared-buffer models: everything bound for the next decode step.</summary>
    internal SharedBuffers? Shared { get; set; }

    internal T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (var value in Past)
            value.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--)
            _owned[i].Dispose();
    }

    /// <summary>The fixed buffers of a shared-buffer state and the binding that names them.</summary>
    internal sealed class SharedBuffers
    {
        public required OrtIoBinding Binding { get; init; }
        public required RunOptions RunOptions { get; init; }
        public required long[] Mask { get; init; }
        public required long[] TokenId { get; init; }
        public required long[] Position { get; init; }
        public required OrtValue MaskValue { get; init; }
        public required OrtValue TokenValue { get; init; }
        public required OrtValue PositionValue { get; init; }
        public required OrtValue LogitsValue { get; init; }

        /// <summary>Whether the one-token inputs and the logits buffer are bound (a prefill rebinds them).</summary>
        public bool DecodeBound { get; set; }
    }
}
