using System.Collections.Concurrent;

namespace Edge.Runtime.Constraints;

/// <summary>
/// Which tokens of a vocabulary may come next in each <see cref="JsonState"/>: a token is allowed
/// when every one of its bytes continues the document, so a token spanning several JSON symbols
/// (`"},` or `": "`) is handled like any other. Masks are computed once per state and shared by
/// every sequence of the model; the cache is bounded, and past the bound a mask is computed per
/// step instead (slower, never wrong). Near max_tokens, tokens after which the object could not be
/// closed in time are taken out. Special tokens are never allowed: their text is not JSON.
/// </summary>
public sealed class JsonTokenMasks
{
    /// <summary>States whose masks are kept; a json_object document seldom visits more than a few hundred.</summary>
    public const int MaxCachedStates = 4096;

    private readonly VocabularyBytes _vocabulary;
    // Per state: the allowed tokens, and those few whose shortest closing afterwards is more than
    // RiskMargin bytes longer than the state's own, longest closing first.
    private readonly ConcurrentDictionary<JsonState, (ulong[] Mask, (int Id, int Closing)[] Risky)> _masks = new();
    private const int RiskMargin = 2;

    public JsonTokenMasks(VocabularyBytes vocabulary) => _vocabulary = vocabulary;

    /// <summary>
    /// Bit i of the mask: token i may come next, and the document can still be closed in
    /// <paramref name="budget"/> tokens after it. Far from the limit that is the cached mask as it is;
    /// near it the few tokens that open much (`,"` opens a key, which needs `":null`) are taken out.
    /// </summary>
    public ulong[] Allowed(JsonState state, int budget = int.MaxValue)
    {
        var (mask, risky) = MaskAndRisks(state);
        if (risky.Length == 0 || risky[0].Closing <= budget)
            return mask;
        if (budget < state.CompletionLength + RiskMargin)
            return Fitting(state, budget); // the last token or two: check them all
        var fitting = (ulong[])mask.Clone();
        foreach (var (id, closing) in risky)
        {
            if (closing <= budget)
                break;
            fitting[id >> 6] &= ~(1UL << (id & 63));
        }
        return fitting;
    }

    private (ulong[] Mask, (int Id, int Closing)[] Risky) MaskAndRisks(JsonState state)
    {
        if (_masks.TryGetValue(state, out var known))
            return known;
        var computed = Compute(state);
        if (_masks.Count < MaxCachedStates)
            _masks.TryAdd(state, computed);
        return computed;
    }

    /// <summary>Tokens whose bytes begin <paramref name="completion"/>: the ways to close the document in the fewest bytes.</summary>
    public ulong[] Completing(ReadOnlySpan<byte> completion)
    {
        var mask = new ulong[(_vocabulary.Count + 63) / 64];
        var found = new List<int>();
        _vocabulary.AddTokensBeginning(completion, found);
        foreach (int id in found)
            mask[id >> 6] |= 1UL << (id & 63);
        return mask;
    }

    /// <summary>Allowed tokens after which the document can still be closed within <paramref name="budget"/> more tokens.</summary>
    public ulong[] Fitting(JsonState state, int budget)
    {
        var mask = new ulong[(_vocabulary.Count + 63) / 64];
        Walk(state, (id, next) =>
        {
            if (next.CompletionLength <= budget)
                mask[id >> 6] |= 1UL << (id & 63);
        });
        return mask;
    }

    /// <summary>
    /// Calls <paramref name="allowed"/> for every token that continues the document from
    /// <paramref name="state"/>, with the state after it. Tokens are visited in byte order: a
    /// prefix shared with the previous token is not stepped again, and once a prefix fails every
    /// token starting with it is skipped without a step.
    /// </summary>
    private void Walk(JsonState state, Action<int, JsonState> allowed)
    {
        var states = new JsonState[_vocabulary.LongestToken + 1];
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
                if (states[depth].Step(bytes[depth]) is not { } next)
                    break;
                states[depth + 1] = next;
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

    /// <summary>The state after a whole token, or null when the token breaks the document.</summary>
    public JsonState? After(JsonState state, int token)
    {
        if (_vocabulary.Bytes(token) is not { } bytes)
            return null;
        JsonState? current = state;
        foreach (byte b in bytes)
        {
            current = current.Value.Step(b);
            if (current is null)
                return null;
        }
        return current;
    }

    private (ulong[] Mask, (int Id, int Closing)[] Risky) Compute(JsonState state)
    {
        var mask = new ulong[(_vocabulary.Count + 63) / 64];
        var risky = new List<(int Id, int Closing)>();
        int margin = state.CompletionLength + RiskMargin;
        Walk(state, (id, next) =>
        {
            mask[id >> 6] |= 1UL << (id & 63);
            if (next.CompletionLength > margin)
                risky.Add((id, next.CompletionLength));
        });
        risky.Sort((a, b) => b.Closing.CompareTo(a.Closing));
        return (mask, [.. risky]);
    }
}
