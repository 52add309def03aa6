using System.Text;

namespace Edge.Runtime.Constraints;

/// <summary>
/// A lazy grammar: the output is free until it ends with the trigger text, from there it must
/// match the grammar (an <see cref="AutomatonConstraint{TState}"/>), and once the grammar is
/// complete it is free again, until the next trigger. A token that completes the trigger and goes
/// on feeds its remaining bytes to the grammar; if they cannot start it, the output stays free.
/// The free text itself never completes: the model's end token or max_tokens ends it.
/// </summary>
public sealed class TriggeredConstraint(VocabularyBytes vocabulary, string trigger, TokenMasks<int> masks, IReadOnlySet<int> endTokens) : ITokenConstraint
{
    private readonly byte[] _trigger = Encoding.UTF8.GetBytes(trigger);
    private readonly List<byte> _tail = [];
    private AutomatonConstraint<int>? _inside;

    public bool IsComplete => false;

    /// <summary>Whether the output is inside the grammar now (after a trigger, before the grammar's end).</summary>
    public bool IsConstraining => _inside is not null;

    public bool Mask(Span<float> logits, int tokensLeft) => _inside?.Mask(logits, tokensLeft) ?? true;

    public int? GreedyChoice(Span<float> logits, int tokensLeft) =>
        _inside is not null ? _inside.GreedyChoice(logits, tokensLeft) : Sampling.Greedy.ArgMax(logits);

    public void Accept(int token)
    {
        if (_inside is not null)
        {
            _inside.Accept(token);
            if (_inside.IsComplete)
            {
                _inside = null;
                _tail.Clear();
            }
            return;
        }
        if (vocabulary.Bytes(token) is not { } bytes)
            return;
        for (int i = 0; i < bytes.Length; i++)
        {
            _tail.Add(bytes[i]);
            if (_tail.Count > _trigger.Length)
                _tail.RemoveAt(0);
            if (_tail.Count == _trigger.Length && System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tail).SequenceEqual(_trigger))
            {
                Enter(bytes.AsSpan(i + 1));
                return;
            }
        }
    }

    private void Enter(ReadOnlySpan<byte> rest)
    {
        int state = masks.Automaton.Start;
        foreach (byte b in rest)
        {
            if (!masks.Automaton.TryStep(state, b, out state))
            {
                _tail.Clear(); // the token already left the grammar: this call stays free
                return;
            }
        }
        _inside = new AutomatonConstraint<int>(masks, endTokens, state);
        if (masks.Automaton.IsFinal(state))
            _inside = null;
    }
}
