using System.Text;
using Edge.Runtime.Constraints;
using Edge.Runtime.Constraints.Grammars;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>Runs text and random token walks through compiled grammars.</summary>
internal static class GrammarAssert
{
    public static LazyDfa Regex(string regex) => GrammarCache.Compile(new OutputGrammar(GrammarKind.Regex, regex));
    public static LazyDfa Schema(string schema) => GrammarCache.Compile(new OutputGrammar(GrammarKind.JsonSchema, schema));

    /// <summary>Whether the whole text is an output of the automaton.</summary>
    public static bool Matches(LazyDfa dfa, string text)
    {
        int state = dfa.Start;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            if (!dfa.TryStep(state, b, out state))
                return false;
        }
        return dfa.Accepts(state);
    }

    /// <summary>
    /// A constrained generation with random logits in place of a model: at each step the mask is
    /// applied and the highest remaining logit taken. Returns the output and whether it is whole.
    /// </summary>
    public static (string Text, bool Complete) RandomWalk(TokenMasks<int> masks, VocabularyBytes vocabulary, int endToken, int maxTokens, Random random)
    {
        var constraint = new AutomatonConstraint<int>(masks, new HashSet<int> { endToken });
        var output = new List<byte>();
        var logits = new float[vocabulary.Count];
        for (int left = maxTokens; left > 0 && !constraint.IsComplete; left--)
        {
            for (int i = 0; i < logits.Length; i++)
                logits[i] = random.NextSingle();
            if (!constraint.Mask(logits, left))
                throw new AssertFailedException("No token was allowed.");
            int best = 0;
            for (int i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[best])
                    best = i;
            }
            constraint.Accept(best);
            if (best != endToken)
                output.AddRange(vocabulary.Bytes(best)!);
        }
        return (Encoding.UTF8.GetString([.. output]), constraint.IsWhole);
    }
}
