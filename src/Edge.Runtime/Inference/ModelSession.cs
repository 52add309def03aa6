using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Inference;

/// <summary>
/// An ONNX Runtime session over a decoder that follows the runtime's conventions
/// (see <see cref="DecoderSignature"/>), stepping one sequence at a time. Handles both cache
/// layouts: shared buffers updated in place (bound once through an IOBinding), and
/// concatenating caches whose present tensors become the next past.
/// </summary>
public sealed class ModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly DecoderSignature _signature;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    // logits_to_keep values, bound by reference: 1 for a step that samples, 0 for every position.
    private readonly OrtValue _keepLastLogits = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, [1]);
    private readonly OrtValue _keepAllLogits = OrtValue.CreateTensorValueFromMemory(new long[] { 0 }, [1]);

    private ModelSession(InferenceSession session, DecoderSignature signature, bool sharedBuffers, int capacity)
    {
        _session = session;
        _signature = signature;
        SharesBuffers = sharedBuffers;
        Capacity = capacity;
        var inputs = new List<string> { DecoderSignature.InputIds, DecoderSignature.AttentionMask };
        if (signature.HasPositionIds)
            inputs.Add(DecoderSignature.PositionIds);
        if (signature.HasLogitsToKeep)
            inputs.Add(DecoderSignature.LogitsToKeep);
        inputs.AddRange(signature.State.Select(s => s.PastName));
        _inputNames = [.. inputs];
        _outputNames = [DecoderSignature.Logits, .. signature.State.Select(s => s.PresentName)];
    }

    public int VocabularySize => _signature.VocabularySize;

    /// <summary>Whether past and present share one buffer of <see cref="Capacity"/> positions.</summary>
    public bool SharesBuffers { get; }

    /// <summary>Most positions a sequence can hold.</summary>
    public int Capacity { get; }

    /// <summary>Names of the state tensors, for diagnostics.</summary>
    public IReadOnlyList<string> StateNames => _signature.State.Select(s => s.PastName).ToList();

    internal InferenceSession Session => _session;

    internal DecoderSignature Signature => _signature;

    /// <summary>Opens a package's decoder with the cache layout its genai_config.json declares.</summary>
    public static ModelSession Open(Packaging.ModelPackage package, SessionOptions options) =>
        Open(package.DecoderPath, options, package.GenAi.Search.PastPresentShareBuffer, package.GenAi.Model.ContextLength);

    public static ModelSession Open(string modelPath, SessionOptions options, bool sharedBuffers = false, int capacity = 0)
    {
        if (!File.Exists(modelPath))
            throw new ModelLoadException($"{modelPath} is missing.");
        if (sharedBuffers && capacity <= 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "A shared-buffer model needs its capacity (the context length).");
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
            var signature = DecoderSignature.Read(session, modelPath);
            if (sharedBuffers && !signature.HasPositionIds)
                throw new ModelLoadException($"{modelPath}: a shared-buffer model needs a position_ids input (it says where new rows go).");
            return new ModelSession(session, signature, sharedBuffers, sharedBuffers ? capacity : int.MaxValue);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public DecoderState CreateState()
    {
        var state = new DecoderState(VocabularySize, Capacity);
        if (!SharesBuffers)
        {
            state.Past = _signature.State
                .Select(s => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, s.EmptyShape(batch: 1)))
                .ToArray();
            return state;
        }

        var binding = state.Own(_session.CreateIoBinding());
        foreach (var tensor in _signature.State)
        {
            // One zeroed buffer per state tensor, bound as both past and present: the graph
            // writes the new rows in place and the buffer is already the next step's past.
            var buffer = state.Own(OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, tensor.CapacityShape(batch: 1, Capacity)));
            buffer.GetTensorMutableDataAsSpan<float>().Clear();
            binding.BindInput(tensor.PastName, buffer);
            binding.BindOutput(tensor.PresentName, buffer);
        }
        long[] mask = new long[Capacity], token = new long[1], position = new long[1];
        var shared = new DecoderState.SharedBuffers
        {
            Binding = binding,
            RunOptions = state.Own(new RunOptions()),
            Mask = mask,
            TokenId = token,
            Position = position,
            MaskValue = state.Own(OrtValue.CreateTensorValueFromMemory(mask, [1, Capacity])),
            TokenValue = state.Own(OrtValue.CreateTensorValueFromMemory(token, [1, 1])),
            PositionValue = state.Own(OrtValue.CreateTensorValueFromMemory(position, [1, 1])),
            LogitsValue = state.Own(OrtValue.CreateTensorValueFromMemory(state.LastLogits, [1, 1, VocabularySize])),
        };
        binding.BindInput(DecoderSignature.AttentionMask, shared.MaskValue);
        state.Shared = shared;
        return state;
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
        if (state.Length + tokens.Length > state.Capacity)
            throw new InvalidOperationException($"The state holds {state.Length} of {state.Capacity} positions; {tokens.Length} more do not fit.");
        return state.Shared is { } shared
            ? StepShared(state, shared, tokens, allLogits)
            : StepConcatenating(state, tokens, allLogits);
    }

    private float[]? StepShared(DecoderState state, DecoderState.SharedBuffers shared, ReadOnlySpan<int> tokens, bool allLogits)
    {
        int count = tokens.Length;
        shared.Mask.AsSpan(state.Length, count).Fill(1);
        var binding = shared.Binding;
        if (count == 1 && !allLogits)
        {
            // The decode step: every buffer is already bound; only two numbers change.
            shared.TokenId[0] = tokens[0];
            shared.Position[0] = state.Length;
            if (!shared.DecodeBound)
            {
                binding.BindInput(DecoderSignature.InputIds, shared.TokenValue);
                binding.BindInput(DecoderSignature.PositionIds, shared.PositionValue);
                if (_signature.HasLogitsToKeep)
                    binding.BindInput(DecoderSignature.LogitsToKeep, _keepLastLogits);
                binding.BindOutput(DecoderSignature.Logits, shared.LogitsValue);
                shared.DecodeBound = true;
            }
            _session.RunWithBinding(shared.RunOptions, binding);
            state.Length += 1;
            return null;
        }

        var (ids, positions) = TokenInputs(tokens, state.Length);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, count]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [1, count]);
        // Only the last position's logits unless every one is asked for, where the graph can say so.
        int kept = allLogits || !_signature.HasLogitsToKeep ? count : 1;
        var logitsValue = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, kept, VocabularySize]);
        try
        {
            binding.BindInput(DecoderSignature.InputIds, idsValue);
            binding.BindInput(DecoderSignature.PositionIds, positionsValue);
            if (_signature.HasLogitsToKeep)
                binding.BindInput(DecoderSignature.LogitsToKeep, allLogits ? _keepAllLogits : _keepLastLogits);
            binding.BindOutput(DecoderSignature.Logits, logitsValue);
            shared.DecodeBound = false;
            _session.RunWithBinding(shared.RunOptions, binding);
            var logits = logitsValue.GetTensorDataAsSpan<float>();
            logits.Slice((kept - 1) * VocabularySize, VocabularySize).CopyTo(state.LastLogits);
            state.Length += count;
            return allLogits ? logits.ToArray() : null;
        }
        finally
        {
            logitsValue.Dispose();
        }
    }

    private float[]? StepConcatenating(DecoderState state, ReadOnlySpan<int> tokens, bool allLogits)
    {
        int count = tokens.Length;
        int total = state.Length + count;
        var (ids, positions) = TokenInputs(tokens, state.Length);
        var mask = new long[total];
        Array.Fill(mask, 1L);

        // Created here and disposed here; the logits_to_keep values belong to the session.
        var created = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(ids, [1, count]),
            OrtValue.CreateTensorValueFromMemory(mask, [1, total]),
        };
        if (_signature.HasPositionIds)
            created.Add(OrtValue.CreateTensorValueFromMemory(positions, [1, count]));
        var inputs = new List<OrtValue>(_inputNames.Length);
        inputs.AddRange(created);
        int kept = allLogits || !_signature.HasLogitsToKeep ? count : 1;
        if (_signature.HasLogitsToKeep)
            inputs.Add(allLogits ? _keepAllLogits : _keepLastLogits);
        inputs.AddRange(state.Past);

        float[]? everyPosition = null;
        using (var runOptions = new RunOptions())
        {
            var outputs = _session.Run(runOptions, _inputNames, inputs, _outputNames);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            logits.Slice((kept - 1) * VocabularySize, VocabularySize).CopyTo(state.LastLogits);
            if (allLogits)
                everyPosition = logits.ToArray();
            outputs[0].Dispose();
            for (int i = 0; i < state.Past.Length; i++)
            {
                state.Past[i].Dispose();
                state.Past[i] = outputs[i + 1];
            }
        }
        foreach (var value in created)
            value.Dispose();
        state.Length = total;
        return everyPosition;
    }

    /// <summary>input_ids and position_ids of a multi-token step: the tokens, at positions from <paramref name="start"/>.</summary>
    internal static (long[] Ids, long[] Positions) TokenInputs(ReadOnlySpan<int> tokens, int start)
    {
        var ids = new long[tokens.Length];
        var positions = new long[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            ids[i] = tokens[i];
            positions[i] = start + i;
        }
        return (ids, positions);
    }

    /// <summary>logits_to_keep = 1, for steps that sample (bind only when <see cref="DecoderSignature.HasLogitsToKeep"/>).</summary>
    internal OrtValue KeepLastLogits => _keepLastLogits;

    public void Dispose()
    {
        _session.Dispose();
        _keepLastLogits.Dispose();
        _keepAllLogits.Dispose();
    }
}
