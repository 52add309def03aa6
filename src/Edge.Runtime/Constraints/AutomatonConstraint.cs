namespace Edge.Runtime.Constraints;

/// <summary>
/// One sequence's progress through an output automaton (a JSON object, a JSON schema, a regex):
/// before each sample the tokens that would break the output are masked out, after it the state
/// advances, and the sequence stops the moment nothing may follow. Where the output is already
/// whole but could go on (a regex's `[0-9]+`), the end-of-sequence token is allowed too. Near
/// max_tokens, a token is allowed only if the output can still be finished in the tokens left
/// after it (each token is at least one byte, and one byte of the shortest ending always shortens
/// it by one), so an answer never ends cut open when it had room for the shortest output.
/// </summary>
public sealed class AutomatonConstraint<TState>(TokenMasks<TState> masks, IReadOnlySet<int> endTokens, TState? start = null) : ITokenConstraint
    where TState : struct, IEquatable<TState>
{
    private TState _state = start ?? masks.Automaton.Start;
    private bool _ended;
    private ulong[]? _fitted; // the mask minus tokens that could not finish in time, near max_tokens

    public bool IsComplete => _ended || masks.Automaton.IsFinal(_state);

    /// <summary>The output so far is whole (it may still go on): what a sequence cut by max_tokens can be checked for.</summary>
    public bool IsWhole => _ended || masks.Automaton.Accepts(_state);

    public bool Mask(Span<float> logits, int tokensLeft)
    {
        var allowed = AllowedNow(tokensLeft, out bool ending);
        Span<float> endLogits = stackalloc float[ending ? endTokens.Count : 0];
        if (ending)
        {
            int e = 0;
            foreach (int end in endTokens)
                endLogits[e++] = end < logits.Length ? logits[end] : float.NegativeInfinity;
        }
        bool any = LogitMask.Apply(logits, allowed);
        if (ending)
        {
            int e = 0;
            foreach (int end in endTokens)
            {
                if (end < logits.Length)
                {
                    logits[end] = endLogits[e];
                    any = true;
                }
                e++;
            }
        }
        return any;
    }

    public int? GreedyChoice(Span<float> logits, int tokensLeft)
    {
        var allowed = AllowedNow(tokensLeft, out bool ending);
        int best = LogitMask.ArgMaxAllowed(logits, allowed);
        if (ending)
        {
            foreach (int end in endTokens)
            {
                if (end < logits.Length && (best < 0 || logits[end] > logits[best] || (logits[end] == logits[best] && end < best)))
                    best = end;
            }
        }
        return best < 0 ? null : best;
    }

    /// <summary>The mask for this step (near max_tokens, only tokens that can still finish in time), and whether the end token may come too.</summary>
    private ulong[] AllowedNow(int tokensLeft, out bool ending)
    {
        var automaton = masks.Automaton;
        ending = automaton.Accepts(_state);
        return tokensLeft <= automaton.DistanceToEnd(_state)
            ? masks.Completing(automaton.ShortestEnd(_state))
            : masks.Allowed(_state, tokensLeft - 1, _fitted ??= new ulong[masks.Words]);
    }

    public void Accept(int token)
    {
        if (endTokens.Contains(token) && masks.Automaton.Accepts(_state))
        {
            _ended = true;
            return;
        }
        _state = masks.After(_state, token) ?? throw new InvalidOperationException($"Token {token} does not continue the output in its required format; the mask should have excluded it.");
    }
}
