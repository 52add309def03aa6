using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Inference;

/// <summary>
/// An ONNX Runtime session over a decoder that follows the runtime's conventions
/// (see <see cref="DecoderSignature"/>), stepping one sequence at a time.
/// </summary>
public sealed class ModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly DecoderSignature _signature;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    private ModelSession(InferenceSession session, DecoderSignature signature)
    {
        _session = session;
        _signature = signature;
        var inputs = new List<string> { DecoderSignature.InputIds, DecoderSignature.AttentionMask };
        if (signature.HasPositionIds)
            inputs.Add(DecoderSignature.PositionIds);
        inputs.AddRange(signature.State.Select(s => s.PastName));
        _inputNames = [.. inputs];
        _outputNames = [DecoderSignature.Logits, .. signature.State.Select(s => s.PresentName)];
    }

    public int VocabularySize => _signature.VocabularySize;

    /// <summary>Names of the state tensors, for diagnostics.</summary>
    public IReadOnlyList<string> StateNames => _signature.State.Select(s => s.PastName).ToList();

    public static ModelSession Open(string modelPath, SessionOptions options)
    {
        if (!File.Exists(modelPath))
            throw new ModelLoadException($"{modelPath} is missing.");
        InferenceSession session;
        try
        {
            session = new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException($"{modelPath} cannot be loaded by ONNX Runtime: {e.Message}", e);
        }
        try
        {
            return new ModelSession(session, DecoderSignature.Read(session, modelPath));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public DecoderState CreateState()
    {
        var past = _signature.State
            .Select(s => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, s.EmptyShape(batch: 1)))
            .ToArray();
        return new DecoderState(past, VocabularySize);
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> after what <paramref name="state"/> holds; leaves the last
    /// position's logits in <see cref="DecoderState.LastLogits"/>. With <paramref name="allLogits"/>,
    /// also returns the logits of every new position ([tokens, vocabulary], row-major).
    /// </summary>
    public float[]? Step(DecoderState state, ReadOnlySpan<int> tokens, bool allLogits = false)
    {
        if (tokens.IsEmpty)
            throw new ArgumentException("A step needs at least one token.", nameof(tokens));
        int count = tokens.Length;
        int total = state.Length + count;
        var ids = new long[count];
        var positions = new long[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = tokens[i];
            positions[i] = state.Length + i;
        }
        var mask = new long[total];
        Array.Fill(mask, 1L);

        var inputs = new List<OrtValue>(_inputNames.Length)
        {
            OrtValue.CreateTensorValueFromMemory(ids, [1, count]),
            OrtValue.CreateTensorValueFromMemory(mask, [1, total]),
        };
        if (_signature.HasPositionIds)
            inputs.Add(OrtValue.CreateTensorValueFromMemory(positions, [1, count]));
        inputs.AddRange(state.Past);

        float[]? everyPosition = null;
        using (var runOptions = new RunOptions())
        {
            var outputs = _session.Run(runOptions, _inputNames, inputs, _outputNames);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            logits.Slice((count - 1) * VocabularySize, VocabularySize).CopyTo(state.LastLogits);
            if (allLogits)
                everyPosition = logits.ToArray();
            outputs[0].Dispose();
            for (int i = 0; i < state.Past.Length; i++)
            {
                state.Past[i].Dispose();
                state.Past[i] = outputs[i + 1];
            }
        }
        for (int i = 0; i < inputs.Count - state.Past.Length; i++)
            inputs[i].Dispose();
        state.Length = total;
        return everyPosition;
    }

    public void Dispose() => _session.Dispose();
}
