using System.Collections.Concurrent;
using Edge.Runtime.Tokenization;

namespace Edge.Runtime.Constraints;

/// <summary>
/// Which tokens of a vocabulary may come next in each <see cref="JsonState"/>: a token is allowed
/// when every one of its bytes continues the document, so a token spanning several JSON symbols
/// (`"},` or `": "`) is handled like any other. Masks are computed once per state and shared by
/// every sequence of the model; the cache is bounded, and past the bound a mask is computed per
/// step instead (slower, never wrong). Special tokens are never allowed: their text is not JSON.
/// </summary>
public sealed class JsonTokenMasks
{
    /// <summary>States whose masks are kept; a json_object document seldom visits more than a few hundred.</summary>
    public const int MaxCachedStates = 4096;

    private readonly byte[]?[] _tokenBytes;
    private readonly ConcurrentDictionary<JsonState, (ulong[] Mask, int LongestClosing)> _masks = new();

    public JsonTokenMasks(ModelTokenizer tokenizer, int samplable)
    {
        _tokenBytes = new byte[]?[samplable];
        var buffer = new List<byte>();
        for (int id = 0; id < samplable; id++)
        {
            if (tokenizer.IsSpecial(id))
                continue;
            buffer.Clear();
            try
            {
                tokenizer.AppendTokenBytes(id, buffer);
            }
            catch (ArgumentOutOfRangeException)
            {
                continue; // a hole in the vocabulary: no text, never allowed
            }
            if (buffer.Count > 0)
                _tokenBytes[id] = [.. buffer];
        }
    }

    public int Vocabulary => _tokenBytes.Length;

    /// <summary>Bit i of the mask: token i may come next.</summary>
    public ulong[] Allowed(JsonState state) => MaskAndClosing(state).Mask;

    /// <summary>
    /// The longest shortest-completion any allowed token leaves behind: with more tokens left than
    /// that, no choice can make the document unclosable in time, and the cached mask holds.
    /// </summary>
    public int LongestClosingAfter(JsonState state) => MaskAndClosing(state).LongestClosing;

    private (ulong[] Mask, int LongestClosing) MaskAndClosing(JsonState state)
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
        var mask = new ulong[(_tokenBytes.Length + 63) / 64];
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            if (_tokenBytes[id] is { } bytes && completion.StartsWith(bytes))
                mask[id >> 6] |= 1UL << (id & 63);
        }
        return mask;
    }

    /// <summary>Allowed tokens after which the document can still be closed within <paramref name="budget"/> more tokens.</summary>
    public ulong[] Fitting(JsonState state, int budget)
    {
        var mask = new ulong[(_tokenBytes.Length + 63) / 64];
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            if (After(state, id) is { } next && next.CompletionLength <= budget)
                mask[id >> 6] |= 1UL << (id & 63);
        }
        return mask;
    }

    /// <summary>The state after a whole token, or null when the token breaks the document.</summary>
    public JsonState? After(JsonState state, int token)
    {
        if ((uint)token >= (uint)_tokenBytes.Length || _tokenBytes[token] is not { } bytes)
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

    private (ulong[] Mask, int LongestClosing) Compute(JsonState state)
    {
        var mask = new ulong[(_tokenBytes.Length + 63) / 64];
        int longest = 0;
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            if (After(state, id) is { } next)
            {
                mask[id >> 6] |= 1UL << (id & 63);
                longest = Math.Max(longest, next.CompletionLength);
            }
        }
        return (mask, longest);
    }
}
