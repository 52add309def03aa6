using System.Runtime.InteropServices;
using Edge.Runtime.Inference;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Scheduling;

/// <summary>
/// Runs the decode steps of up to <see cref="MaxBatch"/> sequences as one batch. Every sequence
/// owns a row (slot) of fixed native buffers: the shared-buffer caches [slots, capacity, width],
/// its attention-mask row, its next token and position, its logits row. Active sequences occupy
/// slots 0..n-1, so a step of n sequences runs on the first n rows: views and bindings exist
/// once per batch size and per slot, and a step copies nothing.
/// </summary>
internal sealed unsafe class BatchedDecoder : IBatchExecutor
{
    private readonly ModelSession _session;
    private readonly int _capacity;
    private readonly int _vocabulary;
    private readonly (StateTensor Tensor, IntPtr Buffer, long RowFloats)[] _caches;
    private readonly long* _mask;
    private readonly long* _tokens;
    private readonly long* _positions;
    private readonly float* _logits;
    private readonly OrtIoBinding?[] _stepBindings;
    private readonly (OrtValue Mask, OrtValue[] Caches)?[] _slotViews;
    private readonly List<IDisposable> _owned = [];
    private readonly RunOptions _runOptions = new();

    public BatchedDecoder(ModelSession session, int maxBatch)
    {
        if (!session.SharesBuffers)
            throw new InvalidOperationException("Batching needs a model whose past and present share one buffer (past_present_share_buffer).");
        _session = session;
        MaxBatch = maxBatch;
        _capacity = session.Capacity;
        _vocabulary = session.VocabularySize;
        _caches = session.Signature.State.Select(tensor =>
        {
            long rowFloats = tensor.CapacityShape(1, _capacity).Aggregate(1L, (a, b) => a * b);
            return (tensor, (IntPtr)NativeMemory.AllocZeroed((nuint)(maxBatch * rowFloats), sizeof(float)), rowFloats);
        }).ToArray();
        _mask = (long*)NativeMemory.AllocZeroed((nuint)(maxBatch * _capacity), sizeof(long));
        _tokens = (long*)NativeMemory.AllocZeroed((nuint)maxBatch, sizeof(long));
        _positions = (long*)NativeMemory.AllocZeroed((nuint)maxBatch, sizeof(long));
        _logits = (float*)NativeMemory.AllocZeroed((nuint)(maxBatch * _vocabulary), sizeof(float));
        _stepBindings = new OrtIoBinding?[maxBatch + 1];
        _slotViews = new (OrtValue, OrtValue[])?[maxBatch];
    }

    public int MaxBatch { get; }

    public int Capacity => _capacity;

    /// <summary>The logits row of a slot after its last prefill or step.</summary>
    public Span<float> Logits(int slot) => new(_logits + (long)slot * _vocabulary, _vocabulary);

    /// <summary>Runs a new sequence's prompt in an empty slot; its logits row then holds the last position's logits.</summary>
    public void Prefill(int slot, ReadOnlySpan<int> prompt)
    {
        int count = prompt.Length;
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxBatch, nameof(slot));
        if (count < 1 || count > _capacity)
            throw new ArgumentOutOfRangeException(nameof(prompt), count, $"A prompt must hold 1 to {_capacity} tokens.");
        var mask = new Span<long>(_mask + (long)slot * _capacity, _capacity);
        mask.Clear();
        mask[..count].Fill(1);
        var (ids, positions) = ModelSession.TokenInputs(prompt, start: 0);
        // A binding per prefill: a binding keeps its bound outputs alive, and a prefill's logits
        // ([prompt, vocabulary]) must not outlive it.
        using var binding = PrefillBinding(slot);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, count]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [1, count]);
        // Only the last position is sampled: where the graph can, it projects only that one.
        bool lastOnly = _session.Signature.HasLogitsToKeep;
        int kept = lastOnly ? 1 : count;
        using var logits = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, kept, _vocabulary]);
        binding.BindInput(DecoderSignature.InputIds, idsValue);
        binding.BindInput(DecoderSignature.PositionIds, positionsValue);
        if (lastOnly)
            binding.BindInput(DecoderSignature.LogitsToKeep, _session.KeepLastLogits);
        binding.BindOutput(DecoderSignature.Logits, logits);
        _session.Session.RunWithBinding(_runOptions, binding);
        logits.GetTensorDataAsSpan<float>().Slice((kept - 1) * _vocabulary, _vocabulary).CopyTo(Logits(slot));
    }

    /// <summary>Feeds one token to each of the sequences in slots 0..count-1, at their positions.</summary>
    public void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)MaxBatch, nameof(count));
        // A position outside the row would write the mask (and the model the cache) out of bounds.
        for (int slot = 0; slot < count; slot++)
        {
            if ((uint)positions[slot] >= (uint)_capacity)
                throw new ArgumentOutOfRangeException(nameof(positions), positions[slot], $"Slot {slot}'s position is outside 0..{_capacity - 1}.");
        }
        for (int slot = 0; slot < count; slot++)
        {
            _tokens[slot] = tokens[slot];
            _positions[slot] = positions[slot];
            _mask[(long)slot * _capacity + positions[slot]] = 1;
        }
        var binding = _stepBindings[count] ??= StepBinding(count);
        _session.Session.RunWithBinding(_runOptions, binding);
    }

    /// <summary>Moves the sequence in slot <paramref name="from"/> to <paramref name="to"/>, keeping active slots contiguous.</summary>
    public void Move(int source, int destination, int length)
    {
        if ((uint)source >= (uint)MaxBatch || (uint)destination >= (uint)MaxBatch || (uint)length > (uint)_capacity)
            throw new ArgumentOutOfRangeException(nameof(length), $"Cannot move {length} positions from slot {source} to slot {destination}.");
        foreach (var (_, buffer, rowFloats) in _caches)
        {
            var rows = new Span<float>((void*)buffer, checked((int)(MaxBatch * rowFloats)));
            // Only the written positions matter; the rest is masked out.
            int used = checked((int)(rowFloats / _capacity * length));
            rows.Slice(checked((int)(source * rowFloats)), used).CopyTo(rows.Slice(checked((int)(destination * rowFloats)), used));
        }
        new Span<long>(_mask + (long)source * _capacity, _capacity).CopyTo(new Span<long>(_mask + (long)destination * _capacity, _capacity));
        Logits(source).CopyTo(Logits(destination));
    }

    private OrtIoBinding StepBinding(int count)
    {
        var binding = Own(_session.Session.CreateIoBinding());
        binding.BindInput(DecoderSignature.InputIds, View(_tokens, [count, 1]));
        binding.BindInput(DecoderSignature.PositionIds, View(_positions, [count, 1]));
        binding.BindInput(DecoderSignature.AttentionMask, View(_mask, [count, _capacity]));
        if (_session.Signature.HasLogitsToKeep)
            binding.BindInput(DecoderSignature.LogitsToKeep, _session.KeepLastLogits);
        foreach (var (tensor, buffer, rowFloats) in _caches)
        {
            var cache = FloatView(buffer, tensor.CapacityShape(count, _capacity), count * rowFloats);
            binding.BindInput(tensor.PastName, cache);
            binding.BindOutput(tensor.PresentName, cache);
        }
        binding.BindOutput(DecoderSignature.Logits, FloatView((IntPtr)_logits, [count, 1, _vocabulary], (long)count * _vocabulary));
        return binding;
    }

    private OrtIoBinding PrefillBinding(int slot)
    {
        var views = _slotViews[slot] ??= SlotViews(slot);
        var binding = _session.Session.CreateIoBinding();
        binding.BindInput(DecoderSignature.AttentionMask, views.Mask);
        for (int i = 0; i < _caches.Length; i++)
        {
            binding.BindInput(_caches[i].Tensor.PastName, views.Caches[i]);
            binding.BindOutput(_caches[i].Tensor.PresentName, views.Caches[i]);
        }
        return binding;
    }

    /// <summary>A slot's rows of the mask and of every cache, as [1, ...] tensors.</summary>
    private (OrtValue Mask, OrtValue[] Caches) SlotViews(int slot) => (
        View(_mask + (long)slot * _capacity, [1, _capacity]),
        [.. _caches.Select(c => FloatView(c.Buffer + checked((nint)(slot * c.RowFloats * sizeof(float))), c.Tensor.CapacityShape(1, _capacity), c.RowFloats))]);

    private OrtValue View(long* data, long[] shape) =>
        Own(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, shape, (IntPtr)data, shape.Aggregate(1L, (a, b) => a * b) * sizeof(long)));

    private OrtValue FloatView(IntPtr data, long[] shape, long floats) =>
        Own(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, data, floats * sizeof(float)));

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
            _owned[i].Dispose();
        _runOptions.Dispose();
        foreach (var (_, buffer, _) in _caches)
            NativeMemory.Free((void*)buffer);
        NativeMemory.Free(_mask);
        NativeMemory.Free(_tokens);
        NativeMemory.Free(_positions);
        NativeMemory.Free(_logits);
    }
}
