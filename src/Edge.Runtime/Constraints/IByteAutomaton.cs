namespace Edge.Runtime.Constraints;

/// <summary>
/// A language of outputs as a machine over UTF-8 bytes, which token masks are computed from. Its
/// states are small values (they key the mask cache), and every live state can still reach an
/// accepted output: the shortest way there is what lets an answer close within max_tokens.
/// </summary>
public interface IByteAutomaton<TState> where TState : struct, IEquatable<TState>
{
    TState Start { get; }

    /// <summary>The state after <paramref name="b"/> (<paramref name="after"/>); false when no output of the language continues that way.</summary>
    bool TryStep(TState state, byte b, out TState after);

    /// <summary>Bytes still needed, at the fewest, for an accepted output.</summary>
    int DistanceToEnd(TState state);

    /// <summary>The bytes of one shortest way to an accepted output (<see cref="DistanceToEnd"/> long).</summary>
    byte[] ShortestEnd(TState state);

    /// <summary>The output so far is accepted (the end-of-sequence token may come).</summary>
    bool Accepts(TState state);

    /// <summary>The output is accepted and nothing may follow it: the sequence stops here.</summary>
    bool IsFinal(TState state);
}
