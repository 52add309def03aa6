namespace Edge.Runtime.Sampling;

/// <summary>
/// Picks the next token from a step's logits: greedy, or temperature sampling restricted by
/// top-k, top-p and min-p in Hugging Face's order. Buffers are sized once per generation; a
/// token costs O(vocabulary + candidates x log vocabulary) and allocates nothing.
/// </summary>
internal sealed class TokenSampler
{
    private readonly SamplingParameters _settings;
    private readonly Random _random;
    private readonly int[] _heap;
    private readonly float[] _weights;

    public TokenSampler(SamplingParameters settings, int vocabulary)
    {
        _settings = settings;
        _random = settings.Seed is { } seed ? new Random(unchecked((int)seed ^ (int)(seed >> 32))) : new Random();
        if (!settings.IsGreedy)
        {
            _heap = new int[vocabulary];
            _weights = new float[vocabulary];
        }
        else
        {
            _heap = [];
            _weights = [];
        }
    }

    public int Next(Span<float> logits)
    {
        if (_settings.IsGreedy)
            return Greedy.ArgMax(logits);

        float inverseTemperature = 1f / _settings.Temperature;
        float max = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] *= inverseTemperature;
            max = Math.Max(max, logits[i]);
        }
        // Unnormalised probabilities exp(l - max); the most likely token has weight 1.
        double total = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float w = MathF.Exp(logits[i] - max);
            _weights[i] = w;
            total += w;
        }

        bool unrestricted = _settings.TopK == 0 && _settings.TopP >= 1f && _settings.MinP == 0f;
        return unrestricted ? SampleAll(total) : SampleRestricted(total);
    }

    private int SampleAll(double total)
    {
        double target = _random.NextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < _weights.Length; i++)
        {
            cumulative += _weights[i];
            if (cumulative > target)
                return i;
        }
        return _weights.Length - 1;
    }

    /// <summary>Candidates come off a max-heap in order of likelihood until a limit is met.</summary>
    private int SampleRestricted(double total)
    {
        int count = _weights.Length;
        for (int i = 0; i < count; i++)
            _heap[i] = i;
        for (int i = count / 2 - 1; i >= 0; i--)
            SiftDown(i, count);

        int limit = _settings.TopK > 0 ? Math.Min(_settings.TopK, count) : count;
        float minWeight = _settings.MinP; // relative to the top token's weight of 1
        // With top-k, top-p applies to the top-k distribution renormalised, as in Hugging Face.
        int taken = 0;
        double takenWeight = 0;
        int heapSize = count;
        while (taken < limit && heapSize > 0)
        {
            int token = _heap[0];
            if (taken > 0 && _weights[token] < minWeight)
                break;
            if (_settings.TopK == 0 && taken > 0 && takenWeight / total >= _settings.TopP)
                break;
            _heap[0] = _heap[heapSize - 1];
            _heap[heapSize - 1] = token; // popped tokens collect at the end, most likely last
            heapSize--;
            SiftDown(0, heapSize);
            taken++;
            takenWeight += _weights[token];
        }

        // The candidates sit at _heap[count - taken .. count - 1], least likely first.
        int first = count - taken;
        if (_settings.TopK > 0 && _settings.TopP < 1f)
        {
            double kept = 0;
            int keep = 0;
            for (int i = count - 1; i >= first; i--)
            {
                kept += _weights[_heap[i]];
                keep++;
                if (kept / takenWeight >= _settings.TopP)
                    break;
            }
            first = count - keep;
            takenWeight = kept;
        }

        double target = _random.NextDouble() * takenWeight;
        double cumulative = 0;
        for (int i = count - 1; i >= first; i--)
        {
            cumulative += _weights[_heap[i]];
            if (cumulative > target)
                return _heap[i];
        }
        return _heap[first];
    }

    private void SiftDown(int index, int size)
    {
        while (true)
        {
            int left = 2 * index + 1;
            if (left >= size)
                return;
            int larger = left + 1 < size && Before(_heap[left + 1], _heap[left]) ? left + 1 : left;
            if (!Before(_heap[larger], _heap[index]))
                return;
            (_heap[index], _heap[larger]) = (_heap[larger], _heap[index]);
            index = larger;
        }
    }

    // Higher weight first; the lower id wins a tie so results do not depend on heap order.
    private bool Before(int a, int b) => _weights[a] > _weights[b] || (_weights[a] == _weights[b] && a < b);
}
