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
/// once per batch size and per slot, and a step copies nothing. The caches are
/// <see cref="CacheArena"/>s: RAM is taken as positions are written and given back when a slot is
/// released. Prompts are prefilled in chunks at any start position, after the longest prefix the
/// <see cref="PrefixCache"/> already holds.
/// </summary>
internal sealed unsafe class BatchedDecoder : IBatchExecutor
{
    private readonly ModelSession _session;
    private readonly int _capacity;
    private readonly int _vocabulary;
    private readonly (StateTensor Tensor, CacheArena Arena, long RowFloats)[] _caches;
    private readonly PrefixCache? _prefixes;
    private readonly long* _mask;
    private readonly long* _tokens;
    private readonly long* _positions;
    private readonly float* _logits;
    private readonly OrtIoBinding?[] _stepBindings;
    private readonly (OrtValue Mask, OrtValue[] Caches)?[] _slotViews;
    private readonly List<IDisposable> _owned = [];
    private readonly RunOptions _runOptions = new();

    /// <param name="prefixCacheBytes">Budget for kept prompt prefixes; 0 turns prefix reuse off.</param>
    public BatchedDecoder(ModelSession session, int maxBatch, long prefixCacheBytes = 0)
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
            return (tensor, new CacheArena(maxBatch, rowFloats * sizeof(float)), rowFloats);
        }).ToArray();
        if (prefixCacheBytes > 0)
            _prefixes = new PrefixCache([.. _caches.Select(c => c.Arena)], [.. _caches.Select(c => c.RowFloats / _capacity * sizeof(float))], prefixCacheBytes);
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

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions start.. of the sequence in a slot, whose positions
    /// 0..start-1 already hold its earlier tokens (earlier chunks, or a restored prefix). Its logits
    /// row then holds the last position's logits.
    /// </summary>
    public void Prefill(int slot, ReadOnlySpan<int> tokens, int start)
    {
        int count = tokens.Length;
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxBatch, nameof(slot));
        if (start < 0 || count < 1 || count > _capacity - start)
            throw new ArgumentOutOfRangeException(nameof(tokens), count, $"A chunk at position {start} must hold 1 to {_capacity - start} tokens.");
        var mask = new Span<long>(_mask + (long)slot * _capacity, _capacity);
        mask[start..].Clear();
        mask.Slice(start, count).Fill(1);
        var (ids, positions) = ModelSession.TokenInputs(tokens, start);
        // A binding per prefill: a binding keeps its bound outputs alive, and a prefill's logits
        // ([chunk, vocabulary]) must not outlive it.
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

    /// <summary>Copies the longest kept prefix of a new prompt into an empty slot; returns how many positions it filled.</summary>
    public int RestorePrefix(int slot, ReadOnlySpan<int> prompt)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxBatch, nameof(slot));
        if (_prefixes is null || prompt.Length > _capacity)
            return 0;
        int restored = _prefixes.Restore(slot, prompt);
        var mask = new Span<long>(_mask + (long)slot * _capacity, _capacity);
        mask.Clear();
        mask[..restored].Fill(1);
        return restored;
    }

    /// <summary>Keeps the cache of a slot's first tokens.Length positions for later prompts that start the same way.</summary>
    public void RetainPrefix(int slot, ReadOnlySpan<int> tokens)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxBatch, nameof(slot));
        if (tokens.Length <= _capacity)
            _prefixes?.Retain(slot, tokens);
    }

    /// <summary>The sequence in a slot is gone: its cache memory goes back to the system.</summary>
    public void Release(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)MaxBatch, nameof(slot));
        foreach (var cache in _caches)
            cache.Arena.Release(slot);
        new Span<long>(_mask + (long)slot * _capacity, _capacity).Clear();
    }

    /// <summary>Bytes of the caches in RAM now (kernel's count), and bytes held by kept prefixes.</summary>
    public (long Resident, long Prefixes) CacheMemory() =>
        (_caches.Sum(c => c.Arena.ResidentBytes()), _prefixes?.Bytes ?? 0);

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
        foreach (var (_, arena, rowFloats) in _caches)
        {
            // Only the written positions matter; the rest is masked out.
            long used = rowFloats / _capacity * length * sizeof(float);
            Buffer.MemoryCopy((void*)arena.Row(source), (void*)arena.Row(destination), arena.RowBytes, used);
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
        foreach (var (tensor, arena, rowFloats) in _caches)
        {
            var cache = FloatView(arena.Base, tensor.CapacityShape(count, _capacity), count * rowFloats);
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
        [.. _caches.Select(c => FloatView(c.Arena.Row(slot), c.Tensor.CapacityShape(1, _capacity), c.RowFloats))]);

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
        _prefixes?.Dispose();
        foreach (var (_, arena, _) in _caches)
            arena.Dispose();
        NativeMemory.Free(_mask);
        NativeMemory.Free(_tokens);
        NativeMemory.Free(_positions);
        NativeMemory.Free(_logits);
    }
}
