namespace Edge.Runtime.Scheduling;

/// <summary>
/// What the scheduler needs of a model to run a batch: prefill a sequence's prompt into a slot
/// chunk by chunk, step the first n slots by one token, read a slot's logits, move and release a
/// slot, and (optionally) reuse prompt prefixes. <see cref="BatchedDecoder"/> runs it on ONNX
/// Runtime; tests put a fault-injecting executor here to see the scheduler recover.
/// </summary>
public interface IBatchExecutor : IDisposable
{
    /// <summary>Slots (sequences) one step can run.</summary>
    int MaxBatch { get; }

    /// <summary>Positions each slot holds: no sequence may grow past it.</summary>
    int Capacity { get; }

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions start.. of the sequence in a slot whose positions
    /// 0..start-1 already hold its earlier tokens; the slot's logits row then holds the last position's logits.
    /// </summary>
    void Prefill(int slot, ReadOnlySpan<int> tokens, int start);

    /// <summary>Feeds one token to each of the sequences in slots 0..count-1, at their positions.</summary>
    void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions);

    /// <summary>The logits row of a slot after its last prefill or step.</summary>
    Span<float> Logits(int slot);

    /// <summary>Moves the sequence in slot <paramref name="source"/> to <paramref name="destination"/>, keeping active slots contiguous.</summary>
    void Move(int source, int destination, int length);

    /// <summary>The slot's sequence is gone; whatever memory it held may go back.</summary>
    void Release(int slot) { }

    /// <summary>Fills an empty slot with the longest already computed prefix of <paramref name="prompt"/>; returns its length (0: none).</summary>
    int RestorePrefix(int slot, ReadOnlySpan<int> prompt) => 0;

    /// <summary>Keeps the slot's first tokens.Length positions, which hold <paramref name="tokens"/>, for later prompts.</summary>
    void RetainPrefix(int slot, ReadOnlySpan<int> tokens) { }
}
