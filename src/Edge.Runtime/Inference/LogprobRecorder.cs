namespace Edge.Runtime.Inference;

/// <summary>
/// Records each sampled token's log probability and its position's most likely tokens, from the
/// logits the sampler is handed (after the output constraint and penalties), divided by the
/// temperature: log-softmax over the whole vocabulary, taken before the sampler's top-k, top-p
/// and min-p cut it (a cut token would be -infinity, which tells a caller nothing).
/// </summary>
internal sealed class LogprobRecorder(int top, float temperature)
{
    private readonly List<TokenLogprob> _pending = [];
    private float[] _copy = [];
    private int _length;
    private float _logSum;
    private TopLogprob[] _top = [];

    /// <summary>Takes in one step's logits, before the sampler changes them in place.</summary>
    public void Observe(ReadOnlySpan<float> logits)
    {
        if (_copy.Length < logits.Length)
            _copy = new float[logits.Length];
        logits.CopyTo(_copy);
        _length = logits.Length;
        float max = float.NegativeInfinity;
        for (int i = 0; i < _length; i++)
            max = Math.Max(max, _copy[i]);
        double sum = 0;
        for (int i = 0; i < _length; i++)
        {
            if (!float.IsNegativeInfinity(_copy[i]))
                sum += Math.Exp((_copy[i] - max) / temperature);
        }
        _logSum = max / temperature + (float)Math.Log(sum);
        _top = Largest(top);
    }

    /// <summary>Records the token the sampler chose at the observed step.</summary>
    public void Record(int token) => _pending.Add(new TokenLogprob(token, LogProbability(token), _top));

    public IReadOnlyList<TokenLogprob> Take()
    {
        var taken = _pending.ToArray();
        _pending.Clear();
        return taken;
    }

    private float LogProbability(int token) => _copy[token] / temperature - _logSum;

    /// <summary>The <paramref name="count"/> most likely tokens, most likely first (ties by lower id); an insertion pass, as count is at most 20.</summary>
    private TopLogprob[] Largest(int count)
    {
        if (count == 0)
            return []; // logprobs without top_logprobs (the list's last is read below only when it has one)
        var ids = new List<int>(count + 1);
        for (int i = 0; i < _length; i++)
        {
            if (float.IsNegativeInfinity(_copy[i]) || (ids.Count == count && _copy[i] <= _copy[ids[^1]]))
                continue;
            int at = ids.Count;
            while (at > 0 && _copy[ids[at - 1]] < _copy[i])
                at--;
            ids.Insert(at, i);
            if (ids.Count > count)
                ids.RemoveAt(count);
        }
        return [.. ids.Select(id => new TopLogprob(id, LogProbability(id)))];
    }
}
