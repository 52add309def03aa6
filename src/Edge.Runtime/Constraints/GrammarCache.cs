using Edge.Runtime.Constraints.Grammars;

namespace Edge.Runtime.Constraints;

/// <summary>
/// Compiled grammars of one model, by source, least recently used dropped past
/// <see cref="Capacity"/>: a device answering the same schema all day compiles it once, and its
/// masks stay warm. Each grammar's mask cache is bounded in bytes, so the whole stays within
/// Capacity × <see cref="MaskBytesPerGrammar"/>.
/// </summary>
public sealed class GrammarCache(VocabularyBytes vocabulary)
{
    public const int Capacity = 16;
    public const long MaskBytesPerGrammar = 8 << 20;

    private readonly Dictionary<OutputGrammar, LinkedListNode<(OutputGrammar Key, TokenMasks<int> Masks)>> _entries = [];
    private readonly LinkedList<(OutputGrammar Key, TokenMasks<int> Masks)> _recency = new();
    private readonly Lock _lock = new();

    /// <summary>The grammar's masks, compiled on first use; throws <see cref="GrammarException"/> for one it cannot enforce.</summary>
    public TokenMasks<int> Get(OutputGrammar grammar)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(grammar, out var known))
            {
                _recency.Remove(known);
                _recency.AddFirst(known);
                return known.Value.Masks;
            }
        }
        // Compiled outside the lock: a large schema must not stall requests for cached ones.
        var masks = new TokenMasks<int>(vocabulary, Compile(grammar), MaskBytesPerGrammar);
        lock (_lock)
        {
            if (_entries.TryGetValue(grammar, out var raced))
                return raced.Value.Masks;
            _entries[grammar] = _recency.AddFirst((grammar, masks));
            if (_entries.Count > Capacity)
            {
                _entries.Remove(_recency.Last!.Value.Key);
                _recency.RemoveLast();
            }
            return masks;
        }
    }

    public static LazyDfa Compile(OutputGrammar grammar)
    {
        if (grammar.Source.Length > OutputGrammar.MaxSourceLength)
            throw new GrammarException($"The grammar is {grammar.Source.Length} characters long; at most {OutputGrammar.MaxSourceLength} are accepted.");
        var pattern = grammar.Kind switch
        {
            GrammarKind.JsonSchema => JsonSchemaCompiler.Compile(grammar.Source),
            GrammarKind.FramedSchemas => JsonSchemaCompiler.CompileFramed(grammar.Source),
            _ => RegexParser.Parse(grammar.Source).Pattern,
        };
        return new LazyDfa(ByteNfa.Compile(pattern));
    }
}
