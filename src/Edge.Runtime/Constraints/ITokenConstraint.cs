namespace Edge.Runtime.Constraints;

/// <summary>What one sequence's output must be, applied token by token: mask before sampling, advance after, stop when complete.</summary>
public interface ITokenConstraint
{
    /// <summary>The output is whole: the sequence stops here.</summary>
    bool IsComplete { get; }

    /// <summary>Sets every token that cannot come next to -infinity; false when none can.</summary>
    /// <param name="tokensLeft">Tokens the sequence may still produce, this one included.</param>
    bool Mask(Span<float> logits, int tokensLeft);

    /// <summary>
    /// Greedy decoding's whole use of the mask: the allowed token with the largest logit (the lowest
    /// id on a tie), or null when none is allowed. The logits are the step's own and may be written;
    /// an automaton's constraint reads them without masking, since masking a 129k vocabulary to
    /// -infinity and then scanning it cost more than the step's sampling itself.
    /// </summary>
    int? GreedyChoice(Span<float> logits, int tokensLeft) => Mask(logits, tokensLeft) ? Sampling.Greedy.ArgMax(logits) : null;

    /// <summary>Advances past a sampled token, which the mask allowed.</summary>
    void Accept(int token);
}
