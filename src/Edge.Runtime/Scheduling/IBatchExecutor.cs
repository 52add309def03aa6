namespace Edge.Runtime.Scheduling;

/// <summary>
/// What the scheduler needs of a model to run a batch: prefill a sequence into a slot, step the
/// first n slots by one token, read a slot's logits, move a slot. <see cref="BatchedDecoder"/> runs
/// it on ONNX Runtime; tests put a fault-injecting executor here to see the scheduler recover.
/// </summary>
public interface IBatchExecutor : IDisposable
{
    /// <summary>Slots (sequences) one step can run.</summary>
    int MaxBatch { get; }

    /// <summary>Positions each slot holds: no sequence may grow past it.</summary>
    int Capacity { get; }

    /// <summary>Runs a new sequence's prompt in an empty slot; its logits row then holds the last position's logits.</summary>
    void Prefill(int slot, ReadOnlySpan<int> prompt);

    /// <summary>Feeds one token to each of the sequences in slots 0..count-1, at their positions.</summary>
    void Decode(int count, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions);

    /// <summary>The logits row of a slot after its last prefill or step.</summary>
    Span<float> Logits(int slot);

    /// <summary>Moves the sequence in slot <paramref name="source"/> to <paramref name="destination"/>, keeping active slots contiguous.</summary>
    void Move(int source, int destination, int length);
}
