namespace Edge.Runtime.Constraints;

/// <summary>What one sequence's output must be, applied token by token: mask before sampling, advance after, stop when complete.</summary>
public interface ITokenConstraint
{
    /// <summary>The output is whole: the sequence stops here.</summary>
    bool IsComplete { get; }

    /// <summary>Sets every token that cannot come next to -infinity; false when none can.</summary>
    /// <param name="tokensLeft">Tokens the sequence may still produce, this one included.</param>
    bool Mask(Span<float> logits, int tokensLeft);

    /// <summary>Advances past a sampled token, which the mask allowed.</summary>
    void Accept(int token);
}
