namespace Edge.Runtime.Constraints;

/// <summary>response_format json_object as an <see cref="IByteAutomaton{TState}"/>: the pushdown automaton of <see cref="JsonState"/>.</summary>
public sealed class JsonObjectAutomaton : IByteAutomaton<JsonState>
{
    public static readonly JsonObjectAutomaton Instance = new();

    public JsonState Start => default;

    public bool TryStep(JsonState state, byte b, out JsonState next)
    {
        if (state.Step(b) is { } stepped)
        {
            next = stepped;
            return true;
        }
        next = default;
        return false;
    }

    public int DistanceToEnd(JsonState state) => state.CompletionLength;
    public byte[] ShortestEnd(JsonState state) => state.Completion();
    public bool Accepts(JsonState state) => state.IsComplete;
    public bool IsFinal(JsonState state) => state.IsComplete;
}
