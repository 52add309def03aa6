namespace Edge.Runtime.Constraints;

/// <summary>
/// One sequence's progress through a JSON object (response_format json_object): before each sample
/// the tokens that would break the document are masked out, after it the state advances, and the
/// sequence stops the moment the object closes. Near max_tokens, a token is allowed only if the
/// document can still be closed in the tokens left after it (each token is at least one byte, and
/// one byte of the shortest completion always shortens it by one), so an answer never ends cut
/// open: with room for "{}" at the start, every answer parses.
/// </summary>
public sealed class JsonObjectConstraint(JsonTokenMasks masks)
{
    private JsonState _state;

    public bool IsComplete => _state.IsComplete;

    /// <summary>Sets every token that cannot come next to -infinity; false when none can (the sequence cannot go on).</summary>
    /// <param name="tokensLeft">Tokens the sequence may still produce, this one included.</param>
    public bool Mask(Span<float> logits, int tokensLeft)
    {
        int closing = _state.CompletionLength;
        // Where every allowed token leaves a document closable in the tokens left, the cached mask
        // holds; nearer the limit each token is checked.
        var allowed = tokensLeft <= closing ? masks.Completing(_state.Completion())
            : tokensLeft - 1 < masks.LongestClosingAfter(_state) ? masks.Fitting(_state, tokensLeft - 1)
            : masks.Allowed(_state);
        bool any = false;
        for (int id = 0; id < logits.Length; id++)
        {
            if ((allowed[id >> 6] >> (id & 63) & 1) == 0)
                logits[id] = float.NegativeInfinity;
            else
                any = true;
        }
        return any;
    }

    public void Accept(int token) =>
        _state = masks.After(_state, token) ?? throw new InvalidOperationException($"Token {token} does not continue the JSON document; the mask should have excluded it.");
}
