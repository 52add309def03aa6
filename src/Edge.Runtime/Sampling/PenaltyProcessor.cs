namespace Edge.Runtime.Sampling;

/// <summary>
/// Repetition (Hugging Face), presence and frequency (OpenAI) penalties, applied in place to a
/// step's logits. Keeps per-token counts in arrays sized once per generation, so a step
/// allocates nothing.
/// </summary>
internal sealed class PenaltyProcessor
{
    private readonly float _repetition, _presence, _frequency;
    private readonly int[] _completionCounts;
    private readonly bool[] _seen;
    private readonly List<int> _seenIds;
    private readonly List<int> _completionIds;

    public PenaltyProcessor(int vocabulary, float repetition, float presence, float frequency, ReadOnlySpan<int> prompt, int maxTokens)
    {
        _repetition = repetition;
        _presence = presence;
        _frequency = frequency;
        _completionCounts = new int[vocabulary];
        _seen = new bool[vocabulary];
        _seenIds = new List<int>((int)Math.Min((long)prompt.Length + maxTokens, vocabulary));
        _completionIds = new List<int>(Math.Min(maxTokens, vocabulary));
        foreach (int id in prompt)
            MarkSeen(id);
    }

    /// <summary>Whether a request asks for any penalty; only then are the per-vocabulary arrays worth allocating.</summary>
    public static bool Needed(float repetition, float presence, float frequency) =>
        repetition != 1f || presence != 0f || frequency != 0f;

    public void Accept(int token)
    {
        MarkSeen(token);
        if (_completionCounts[token]++ == 0)
            _completionIds.Add(token);
    }

    public void Apply(Span<float> logits)
    {
        if (_repetition != 1f)
        {
            foreach (int id in _seenIds)
                logits[id] = logits[id] > 0 ? logits[id] / _repetition : logits[id] * _repetition;
        }
        if (_presence != 0f || _frequency != 0f)
        {
            foreach (int id in _completionIds)
                logits[id] -= _frequency * _completionCounts[id] + _presence;
        }
    }

    private void MarkSeen(int id)
    {
        if (!_seen[id])
        {
            _seen[id] = true;
            _seenIds.Add(id);
        }
    }
}
