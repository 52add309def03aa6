namespace Edge.Runtime.Constraints;

/// <summary>
/// The output is exactly one of a list of strings (vLLM's guided_choice): a token is allowed when
/// the output with it is still the beginning of a choice that fits in the tokens left, and the
/// sequence stops when the output equals a choice that no other choice continues. A choice that
/// another continues ("on" and "one") ends where the model ends it: with the end-of-sequence
/// token, allowed exactly when the output is a whole choice.
/// </summary>
public sealed class ChoiceConstraint : ITokenConstraint
{
    private readonly VocabularyBytes _vocabulary;
    private readonly byte[][] _choices;
    private readonly IReadOnlySet<int> _endTokens;
    private readonly List<byte> _output = [];
    private readonly List<int> _allowed = [];
    private readonly List<float> _kept = [];

    public ChoiceConstraint(VocabularyBytes vocabulary, IReadOnlyList<string> choices, IReadOnlySet<int> endTokens)
    {
        _vocabulary = vocabulary;
        _choices = [.. choices.Select(System.Text.Encoding.UTF8.GetBytes)];
        _endTokens = endTokens;
    }

    public bool IsComplete { get; private set; }

    public bool Mask(Span<float> logits, int tokensLeft)
    {
        // Few tokens are allowed (at most one per byte of each choice's rest): keep their logits,
        // fill the rest. Buffers are reused, so a step allocates nothing.
        _allowed.Clear();
        var output = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_output);
        foreach (var choice in _choices)
        {
            // A single-byte token exists for every byte of a byte-level vocabulary, so a choice whose
            // rest fits in the tokens left can always be finished.
            if (!choice.AsSpan().StartsWith(output) || choice.Length - output.Length > tokensLeft)
                continue;
            if (choice.Length > output.Length)
                _vocabulary.AddTokensBeginning(choice.AsSpan(output.Length), _allowed);
            else
            {
                foreach (int end in _endTokens)
                {
                    if (end < logits.Length)
                        _allowed.Add(end);
                }
            }
        }
        _kept.Clear();
        foreach (int id in _allowed)
            _kept.Add(logits[id]);
        logits.Fill(float.NegativeInfinity);
        for (int i = 0; i < _allowed.Count; i++)
            logits[_allowed[i]] = _kept[i];
        return _allowed.Count > 0;
    }

    public void Accept(int token)
    {
        if (_endTokens.Contains(token))
        {
            IsComplete = true;
            return;
        }
        _output.AddRange(_vocabulary.Bytes(token) ?? throw new InvalidOperationException($"Token {token} has no text; the mask should have excluded it."));
        var output = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_output);
        bool whole = false, continued = false;
        foreach (var choice in _choices)
        {
            whole |= choice.AsSpan().SequenceEqual(output);
            continued |= choice.Length > output.Length && choice.AsSpan().StartsWith(output);
        }
        IsComplete = whole && !continued;
    }
}
