using Edge.Runtime.Sampling;
using Edge.Runtime.Tokenization;

namespace Edge.Runtime.Inference;

/// <summary>
/// One generation's token-by-token logic, independent of how its steps are run (alone or in a
/// batch): penalties, sampling, stop tokens, UTF-8-safe detokenization, stop strings, limits.
/// </summary>
internal sealed class GenerationSequence
{
    private readonly GenerationSettings _settings;
    private readonly IReadOnlySet<int> _eosIds;
    private readonly PenaltyProcessor? _penalties;
    // Greedy with no penalties, bias or logprobs: the choice needs the constraint's mask and nothing else.
    private readonly bool _plainGreedy;
    private readonly TokenSampler _sampler;
    private readonly IncrementalDetokenizer _detokenizer;
    private readonly StopStringMatcher _stops;
    private readonly Diagnostics.RuntimeMetrics? _metrics;
    private long _lastTokenAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly int _samplable;
    private readonly Constraints.ITokenConstraint? _constraint;
    private const int InitialCapacity = 1024;
    private readonly LogprobRecorder? _logprobs;
    // logit_bias as arrays, made once: enumerating the settings' dictionary every token would allocate per step.
    private readonly int[] _biasedTokens;
    private readonly float[] _biases;

    public GenerationSequence(ModelTokenizer tokenizer, IReadOnlySet<int> eosIds, int vocabulary, int[] prompt, GenerationSettings settings, int maxTokens,
        List<int>? completion = null, Diagnostics.RuntimeMetrics? metrics = null, Constraints.ITokenConstraint? constraint = null)
    {
        _constraint = constraint;
        _metrics = metrics;
        _settings = settings;
        _eosIds = eosIds;
        Prompt = prompt;
        MaxTokens = maxTokens;
        // Capacity capped: max_tokens is what a request may ask, not what it will use.
        Completion = completion ?? new List<int>(Math.Min(maxTokens, InitialCapacity));
        // Models pad their vocabulary (DeepSeek-V3: 129,280 rows for 128,815 tokens); a padding row
        // has no text, so sampling never reaches it.
        _samplable = Math.Min(vocabulary, tokenizer.VocabularySize);
        _penalties = PenaltyProcessor.Needed(settings.RepetitionPenalty, settings.PresencePenalty, settings.FrequencyPenalty)
            ? new PenaltyProcessor(_samplable, settings.RepetitionPenalty, settings.PresencePenalty, settings.FrequencyPenalty, prompt, maxTokens)
            : null;
        _sampler = new TokenSampler(new SamplingParameters(settings.Temperature, settings.TopK, settings.TopP, settings.MinP, settings.Seed), _samplable);
        _detokenizer = new IncrementalDetokenizer(tokenizer);
        _stops = new StopStringMatcher(settings.StopStrings);
        _biasedTokens = [.. settings.LogitBias.Keys];
        _biases = [.. settings.LogitBias.Values];
        _logprobs = settings.TopLogprobs is { } top ? new LogprobRecorder(top, settings.IsGreedy ? 1f : settings.Temperature) : null;
        _plainGreedy = settings.IsGreedy && _penalties is null && _biasedTokens.Length == 0 && _logprobs is null;
    }

    /// <summary>The log probabilities recorded since the last call (null when not asked for): they go out with the text they complete.</summary>
    public IReadOnlyList<TokenLogprob>? TakeLogprobs() => _logprobs?.Take();

    private static InvalidOperationException NothingAllowed() => new("No token of the vocabulary continues the output in its required format.");

    public int[] Prompt { get; }
    public int MaxTokens { get; }
    public List<int> Completion { get; }

    /// <summary>Set once the sequence has ended; <see cref="Finish"/> then gives the last chunk.</summary>
    public FinishReason? FinishReason { get; private set; }

    /// <summary>The token to feed next, valid while the sequence has not finished.</summary>
    public int NextToken { get; private set; }

    /// <summary>
    /// Picks the next token from the step's logits (modified in place). Returns the text that is
    /// now safe to emit (maybe empty); afterwards either <see cref="FinishReason"/> is set or
    /// <see cref="NextToken"/> must be fed to the model.
    /// </summary>
    public string Advance(Span<float> logits)
    {
        logits = logits[..Math.Min(logits.Length, _samplable)];
        int next;
        if (_constraint is not null && _plainGreedy)
        {
            // Greedy with nothing else to apply: the constraint picks among what it allows, unwritten.
            next = _constraint.GreedyChoice(logits, MaxTokens - Completion.Count) ?? throw NothingAllowed();
        }
        else
        {
            // The mask goes first, so that penalties and the sampler only ever see tokens the output format allows.
            if (_constraint is not null && !_constraint.Mask(logits, MaxTokens - Completion.Count))
                throw NothingAllowed();
            _penalties?.Apply(logits);
            for (int i = 0; i < _biasedTokens.Length; i++)
            {
                if ((uint)_biasedTokens[i] < (uint)logits.Length)
                    logits[_biasedTokens[i]] += _biases[i];
            }
            _logprobs?.Observe(logits);
            next = _sampler.Next(logits);
        }
        _constraint?.Accept(next);
        if (_constraint is { IsComplete: true } && _eosIds.Contains(next))
        {
            FinishReason = Inference.FinishReason.Stop;
            return "";
        }
        if ((_settings.StopAtEos && _eosIds.Contains(next)) || _settings.StopTokenIds.Contains(next))
        {
            FinishReason = Inference.FinishReason.Stop;
            return "";
        }
        Completion.Add(next);
        _logprobs?.Record(next); // the end and stop tokens are not output, so they get none
        _penalties?.Accept(next);
        if (_metrics is not null)
        {
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_lastTokenAt).TotalSeconds;
            (Completion.Count == 1 ? _metrics.TimeToFirstToken : _metrics.TokenLatency).Record(seconds);
            _metrics.TokensGenerated.Add(1);
            _lastTokenAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        string text = _stops.Push(_detokenizer.Push(next));
        if (_stops.Stopped || _constraint is { IsComplete: true })
            FinishReason = Inference.FinishReason.Stop;
        else if (Completion.Count >= MaxTokens)
            FinishReason = Inference.FinishReason.Length;
        NextToken = next;
        return text;
    }

    public void Cancel() => FinishReason = Inference.FinishReason.Cancelled;

    /// <summary>
    /// The last chunk: held-back text (an unfinished character, a possible stop string) unless a
    /// stop string or a cancel ended the sequence, the finish reason and the usage.
    /// </summary>
    public GenerationChunk Finish()
    {
        var reason = FinishReason ?? Inference.FinishReason.Length;
        _metrics?.Generations.Add(1, new KeyValuePair<string, object?>("finish_reason", reason.ToString().ToLowerInvariant()));
        string tail = "";
        if (reason != Inference.FinishReason.Cancelled && !_stops.Stopped)
        {
            tail = _stops.Push(_detokenizer.Flush());
            if (!_stops.Stopped)
                tail += _stops.Flush();
        }
        return new GenerationChunk(tail, reason, new GenerationUsage(Prompt.Length, Completion.Count)) { Logprobs = TakeLogprobs() };
    }
}
