using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Inference;

/// <summary>The recurrent state of one sequence between decoder steps: one tensor per past input.</summary>
public sealed class DecoderState : IDisposable
{
    internal DecoderState(OrtValue[] past, int vocabularySize)
    {
        Past = past;
        LastLogits = new float[vocabularySize];
    }

    internal OrtValue[] Past { get; }

    /// <summary>Tokens the state covers so far.</summary>
    public int Length { get; internal set; }

    /// <summary>Logits of the last position of the last step.</summary>
    public float[] LastLogits { get; }

    public void Dispose()
    {
        foreach (var value in Past)
            value.Dispose();
    }
}
