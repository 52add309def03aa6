using System.Collections.Concurrent;

namespace Edge.Runtime.Constraints;

/// <summary>
/// Which tokens of a vocabulary may come next in each state of an output automaton: a token is
/// allowed when every one of its bytes continues the output, so a token spanning several grammar
/// symbols (`"},` or `": "`) is handled like any other. Masks are computed once per state and
/// shared by every sequence of the model; the cache is bounded in bytes, and past the bound a mask
/// is computed per step instead (slower, never wrong). Near max_tokens, tokens after which the
/// output could not be finished in time are taken out. Special tokens are never allowed: their
/// text is not output.
/// </summary>
public sealed class TokenMasks<TState> where TState : struct, IEquatable<TState>
{
    private readonly VocabularyBytes _vocabulary;
    private readonly int _maxCachedStates;
    // Per state: the allowed tokens, and those after which the shortest ending is longer than the
    // state's own (few: tokens that open a string, a key or a container), longest ending first.
    private readonly ConcurrentDictionary<TState, (ulong[] Mask, (int Id, int Ending)[] Risky)> _masks = new();

    /// <param name="cacheBytes">Memory the cached masks may take (a mask is a bit per token).</param>
    public TokenMasks(VocabularyBytes vocabulary, IByteAutomaton<TState> automaton, long cacheBytes)
    {
        _vocabulary = vocabulary;
        Automaton = automaton;
        _maxCachedStates = (int)Math.Clamp(cacheBytes / Math.Max(1, Words * 8L), 16, 1 << 20);
    }

    public IByteAutomaton<TState> Automaton { get; }

    /// <summary>Words of a mask (a bit per token).</summary>
    public int Words => (_vocabulary.Count + 63) / 64;

    /// <summary>
    /// Bit i of the mask: token i may come next, and the output can still be finished in
    /// <paramref name="budget"/> tokens after it. Far from the limit that is the cached mask as it is;
    /// near it the few tokens that open much (`,"` opens a key, which needs `":null`) are taken out,
    /// in <paramref name="scratch"/> when given (a sequence's own buffer, so that the last tokens
    /// before max_tokens do not each allocate a mask).
    /// </summary>
    public ulong[] Allowed(TState state, int budget = int.MaxValue, ulong[]? scratch = null)
    {
        // Below the state's own distance no token is safe by the cache's measure: check them all
        // (the constraint asks for the shortest ending's tokens there instead, so this is rare).
        if (budget < Automaton.DistanceToEnd(state))
            return Fitting(state, budget);
        var (mask, risky) = MaskAndRisks(state);
        if (risky.Length == 0 || risky[0].Ending <= budget)
            return mask;
        var fitting = scratch?.Length == mask.Length ? scratch : new ulong[mask.Length];
        mask.CopyTo(fitting, 0);
        foreach (var (id, ending) in risky)
        {
            if (ending <= budget)
                break;
            fitting[id >> 6] &= ~(1UL << (id & 63));
        }
        return fitting;
    }

    private (ulong[] Mask, (int Id, int Ending)[] Risky) MaskAndRisks(TState state)
    {
        if (_masks.TryGetValue(state, out var known))
            return known;
        var computed = Compute(state);
        if (_masks.Count < _maxCachedStates)
            _masks.TryAdd(state, computed);
        return computed;
    }

    /// <summary>Tokens whose bytes begin <paramref name="ending"/>: the ways to finish the output in the fewest bytes.</summary>
    public ulong[] Completing(ReadOnlySpan<byte> ending)
    {
        var mask = new ulong[Words];
        var found = new List<int>();
        _vocabulary.AddTokensBeginning(ending, found);
        foreach (int id in found)
            mask[id >> 6] |= 1UL << (id & 63);
        return mask;
    }

    /// <summary>Allowed tokens after which the output can still be finished within <paramref name="budget"/> more tokens.</summary>
    public ulong[] Fitting(TState state, int budget)
    {
        var mask = new ulong[Words];
        Walk(state, (id, next) =>
        {
            if (Automaton.DistanceToEnd(next) <= budget)
                mask[id >> 6] |= 1UL << (id & 63);
        });
        return mask;
    }

    /// <summary>
    /// Calls <paramref name="allowed"/> for every token that continues the output from
    /// <paramref name="state"/>, with the state after it. Tokens are visited in byte order: a
    /// prefix shared with the previous token is not stepped again, and once a prefix fails every
    /// token starting with it is skipped without a step.
    /// </summary>
    private void Walk(TState state, Action<int, TState> allowed)
    {
        var states = new TState[_vocabulary.LongestToken + 1];
        states[0] = state;
        int valid = 0;              // states[0..valid] hold the previous token's prefixes
        int failedAt = int.MaxValue; // the previous token failed at this byte
        var sorted = _vocabulary.Sorted;
        var sharedWithPrevious = _vocabulary.SharedWithPrevious;
        for (int i = 0; i < sorted.Length; i++)
        {
            int id = sorted[i];
            int shared = sharedWithPrevious[i];
            if (shared > failedAt)
                continue; // it begins with the prefix that failed
            failedAt = int.MaxValue;
            var bytes = _vocabulary.Bytes(id)!;
            int depth = Math.Min(shared, valid);
            for (; depth < bytes.Length; depth++)
            {
                if (!Automaton.TryStep(states[depth], bytes[depth], out states[depth + 1]))
                    break;
            }
            valid = depth;
            if (depth < bytes.Length)
            {
                failedAt = depth;
                continue;
            }
            allowed(id, states[depth]);
        }
    }

    /// <summary>The state after a whole token, or null when the token breaks the output.</summary>
    public TState? After(TState state, int token)
    {
        if (_vocabulary.Bytes(token) is not { } bytes)
            return null;
        foreach (byte b in bytes)
        {
            if (!Automaton.TryStep(state, b, out state))
                return null;
        }
        return state;
    }

    private (ulong[] Mask, (int Id, int Ending)[] Risky) Compute(TState state)
    {
        var mask = new ulong[Words];
        var risky = new List<(int Id, int Ending)>();
        int own = Automaton.DistanceToEnd(state);
        Walk(state, (id, next) =>
        {
            mask[id >> 6] |= 1UL << (id & 63);
            int ending = Automaton.DistanceToEnd(next);
            if (ending > own)
                risky.Add((id, ending));
        });
        risky.Sort((a, b) => b.Ending.CompareTo(a.Ending));
        return (mask, [.. risky]);
    }
}
