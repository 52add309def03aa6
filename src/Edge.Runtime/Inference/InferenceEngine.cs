using Edge.Runtime.Packaging;
using Edge.Runtime.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Runtime.Inference;

/// <summary>
/// A loaded model package: verified files, tokenizer and decoder session. Thread-safe: each
/// generation keeps its own state.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly ModelSession _session;
    private readonly HashSet<int> _eosIds;

    private InferenceEngine(ModelPackage package, ModelTokenizer tokenizer, ModelSession session)
    {
        Package = package;
        Tokenizer = tokenizer;
        _session = session;
        _eosIds = [.. package.GenAi.Model.EosTokenId];
        if (tokenizer.EosId is { } eos)
            _eosIds.Add(eos);
    }

    public ModelPackage Package { get; }
    public ModelTokenizer Tokenizer { get; }
    public int ContextLength => Package.GenAi.Model.ContextLength;

    /// <summary>
    /// The execution provider running the model. Only ONNX Runtime's CPU provider is wired up so
    /// far; choosing among providers (CUDA, TensorRT, XNNPACK) is a later step.
    /// </summary>
    public string Provider { get; } = "cpu";

    public static InferenceEngine Load(string packageDirectory, EngineOptions? options = null)
    {
        options ??= new EngineOptions();
        var package = ModelPackage.Open(packageDirectory);
        var tokenizer = ModelTokenizer.Load(package.Directory);
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = options.IntraOpThreads,
        };
        var session = ModelSession.Open(package.DecoderPath, sessionOptions);
        if (session.VocabularySize < tokenizer.VocabularySize)
        {
            session.Dispose();
            throw new ModelLoadException($"{package.DecoderPath} produces {session.VocabularySize} logits but the tokenizer has {tokenizer.VocabularySize} ids.");
        }
        return new InferenceEngine(package, tokenizer, session);
    }

    /// <summary>Completes a plain-text prompt (tokenized with the model's BOS, as Hugging Face does).</summary>
    public GenerationResult Complete(string prompt, GenerationSettings settings, CancellationToken cancellation = default) =>
        Generate(Tokenizer.Encode(prompt), settings, cancellation);

    /// <summary>Greedy decoding from <paramref name="promptIds"/>: prefill, then one token per step through the state.</summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation = default)
    {
        Validate(promptIds, settings);
        var completion = new List<int>(settings.MaxTokens);
        var finish = FinishReason.Length;
        using var state = _session.CreateState();
        int[] prompt = [.. promptIds];
        _session.Step(state, prompt);
        while (completion.Count < settings.MaxTokens)
        {
            cancellation.ThrowIfCancellationRequested();
            int next = Greedy.ArgMax(state.LastLogits);
            if (settings.StopAtEos && _eosIds.Contains(next))
            {
                finish = FinishReason.Stop;
                break;
            }
            completion.Add(next);
            if (completion.Count < settings.MaxTokens)
                _session.Step(state, [next]);
        }
        return new GenerationResult(prompt, completion, Tokenizer.Decode(completion, skipSpecialTokens: true), finish);
    }

    private void Validate(IReadOnlyList<int> promptIds, GenerationSettings settings)
    {
        if (promptIds.Count == 0)
            throw new GenerationRequestException("The prompt is empty: it must hold at least one token.");
        if (settings.MaxTokens < 1)
            throw new GenerationRequestException($"max_tokens must be at least 1 (got {settings.MaxTokens}).");
        if (promptIds.Count + settings.MaxTokens > ContextLength)
        {
            throw new GenerationRequestException(
                $"The prompt ({promptIds.Count} tokens) plus max_tokens ({settings.MaxTokens}) exceeds the model's context length of {ContextLength} tokens.");
        }
        foreach (int id in promptIds)
        {
            if ((uint)id >= (uint)_session.VocabularySize)
                throw new GenerationRequestException($"Token id {id} is outside the vocabulary (0..{_session.VocabularySize - 1}).");
        }
    }


    public void Dispose() => _session.Dispose();
}
