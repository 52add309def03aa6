namespace Edge.Runtime.Constraints;

/// <summary>
/// One sequence's progress through a JSON object (response_format json_object): before each sample
/// the tokens that would break the document are masked out, after it the state advances, and the
/// sequence stops the moment the object closes. Near max_tokens, a token is allowed only if the
/// document can still be closed in the tokens left after it (each token is at least one byte, and
/// one byte of the shortest completion always shortens it by one), so an answer never ends cut
/// open: with room for "{}" at the start, every answer parses.
/// </summary>
public sealed class JsonObjectConstraint(JsonTokenMasks masks) : ITokenConstraint
{
    private JsonState _state;

    public bool IsComplete => _state.IsComplete;

    /// <summary>Sets every token that cannot come next to -infinity; false when none can (the sequence cannot go on).</summary>
    /// <param name="tokensLeft">Tokens the sequence may still produce, this one included.</param>
    public bool Mask(Span<float> logits, int tokensLeft)
    {
        var allowed = tokensLeft <= _state.CompletionLength ? masks.Completing(_state.Completion()) : masks.Allowed(_state, tokensLeft - 1);
        bool any = false;
        // A word of the mask at a time: all allowed (most of a string) is skipped, none allowed
        // (most of the structure) is one fill; only mixed words go bit by bit.
        for (int word = 0; word * 64 < logits.Length; word++)
        {
            ulong bits = allowed[word];
            var block = logits.Slice(word * 64, Math.Min(64, logits.Length - word * 64));
            if (bits == 0)
            {
                block.Fill(float.NegativeInfinity);
                continue;
            }
            any = true;
            if (bits == ulong.MaxValue)
                continue;
            for (int i = 0; i < block.Length; i++)
            {
                if ((bits >> i & 1) == 0)
                    block[i] = float.NegativeInfinity;
            }
        }
        return any;
    }

    public void Accept(int token) =>
        _state = masks.After(_state, token) ?? throw new InvalidOperationException($"Token {token} does not continue the JSON document; the mask should have excluded it.");
}
