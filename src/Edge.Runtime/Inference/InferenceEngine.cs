using Edge.Runtime.Packaging;
using Edge.Runtime.Providers;
using Edge.Runtime.Templates;
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

    private InferenceEngine(ModelPackage package, ModelTokenizer tokenizer, ChatTemplate? chatTemplate, ModelSession session)
    {
        Package = package;
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        _session = session;
        _eosIds = [.. package.GenAi.Model.EosTokenId];
        if (tokenizer.EosId is { } eos)
            _eosIds.Add(eos);
    }

    public ModelPackage Package { get; }

    /// <summary>Whether the model's caches are shared buffers, which the batch scheduler needs.</summary>
    public bool SupportsBatching => _session.SharesBuffers;

    /// <summary>The decoder session itself, for benchmarks and diagnostics.</summary>
    internal ModelSession Session => _session;
    public ModelTokenizer Tokenizer { get; }

    /// <summary>The model's chat template from tokenizer_config.json; null when it has none.</summary>
    public ChatTemplate? ChatTemplate { get; }
    public int ContextLength => Package.GenAi.Model.ContextLength;

    /// <summary>The execution provider running the model: the first of the requested list this ONNX Runtime has.</summary>
    public string Provider { get; private init; } = "cpu";

    /// <summary>Instruments generations record into, when the host gave some.</summary>
    public Diagnostics.RuntimeMetrics? Metrics { get; private init; }

    /// <summary>What the load skipped or worked around (unavailable providers), for the host to log.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    public static InferenceEngine Load(string packageDirectory, EngineOptions? options = null)
    {
        options ??= new EngineOptions();
        var package = ModelPackage.Open(packageDirectory);
        var tokenizer = ModelTokenizer.Load(package.Directory);
        var chatTemplate = LoadChatTemplate(package.Directory, tokenizer.Config);
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = options.IntraOpThreads,
        };
        var (provider, warnings) = ExecutionProviderSelector.Configure(sessionOptions, options);
        var session = ModelSession.Open(package, sessionOptions);
        if (session.VocabularySize < tokenizer.VocabularySize)
        {
            session.Dispose();
            throw new ModelLoadException($"{package.DecoderPath} produces {session.VocabularySize} logits but the tokenizer has {tokenizer.VocabularySize} ids.");
        }
        return new InferenceEngine(package, tokenizer, chatTemplate, session) { Provider = provider, Warnings = warnings, Metrics = options.Metrics };
    }

    private static ChatTemplate? LoadChatTemplate(string directory, TokenizerConfig config)
    {
        if (config.ChatTemplate is null)
            return null;
        try
        {
            return ChatTemplate.Parse(config.ChatTemplate);
        }
        catch (TemplateException e)
        {
            throw new ModelLoadException($"{Path.Combine(directory, TokenizerConfig.FileName)}: the chat template cannot be used: {e.Message}", e);
        }
    }

    /// <summary>
    /// The prompt ids of a conversation: the chat template rendered as transformers'
    /// apply_chat_template does, then tokenized without adding special tokens (the template
    /// writes them).
    /// </summary>
    /// <exception cref="GenerationRequestException">The model has no chat template, or the template refused the conversation.</exception>
    public int[] EncodeChat(System.Text.Json.JsonElement messages, System.Text.Json.JsonElement? tools = null, bool addGenerationPrompt = true, CancellationToken cancellation = default)
    {
        if (ChatTemplate is null)
            throw new GenerationRequestException($"Model {Package.Manifest.Name} has no chat template; use the completions API.", "messages");
        string prompt;
        try
        {
            prompt = ChatTemplate.RenderConversation(messages, addGenerationPrompt, Tokenizer.Config.BosToken, Tokenizer.Config.EosToken, tools);
        }
        catch (TemplateException e)
        {
            throw new GenerationRequestException($"The model's chat template refused the conversation: {e.Message}", "messages");
        }
        cancellation.ThrowIfCancellationRequested();
        return Tokenizer.Encode(prompt, addSpecialTokens: false, cancellation);
    }

    /// <summary>Completes a plain-text prompt (tokenized with the model's BOS, as Hugging Face does).</summary>
    public GenerationResult Complete(string prompt, GenerationSettings settings, CancellationToken cancellation = default) =>
        Generate(Tokenizer.Encode(prompt, cancellation: cancellation), settings, cancellation);

    /// <summary>Runs a whole generation and returns its tokens and text.</summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation = default)
    {
        int[] prompt = Prepare(promptIds, settings, out int maxTokens);
        var completion = new List<int>(maxTokens);
        var text = new System.Text.StringBuilder();
        FinishReason finish = FinishReason.Length;
        foreach (var chunk in Run(prompt, settings, maxTokens, completion, cancellation))
        {
            text.Append(chunk.Text);
            finish = chunk.FinishReason ?? finish;
        }
        return new GenerationResult(prompt, completion, text.ToString(), finish);
    }

    /// <summary>
    /// Streams a generation as text deltas that never split a UTF-8 character; the last chunk
    /// carries the finish reason and the usage. Invalid requests throw before the first chunk.
    /// </summary>
    public IEnumerable<GenerationChunk> Stream(IReadOnlyList<int> promptIds, GenerationSettings settings, CancellationToken cancellation = default)
    {
        int[] prompt = Prepare(promptIds, settings, out int maxTokens);
        return Run(prompt, settings, maxTokens, completion: null, cancellation);
    }

    private IEnumerable<GenerationChunk> Run(int[] prompt, GenerationSettings settings, int maxTokens, List<int>? completion, CancellationToken cancellation)
    {
        using var state = _session.CreateState();
        var sequence = NewSequence(prompt, settings, maxTokens, completion);
        _session.Step(state, prompt);
        while (true)
        {
            if (cancellation.IsCancellationRequested)
            {
                sequence.Cancel();
                break;
            }
            string text = sequence.Advance(state.LastLogits);
            if (text.Length > 0)
                yield return new GenerationChunk(text) { Logprobs = sequence.TakeLogprobs() };
            if (sequence.FinishReason is not null)
                break;
            _session.Step(state, [sequence.NextToken]);
        }
        yield return sequence.Finish();
    }

    internal GenerationSequence NewSequence(int[] prompt, GenerationSettings settings, int maxTokens, List<int>? completion = null) =>
        new(Tokenizer, _eosIds, _session.VocabularySize, prompt, settings, maxTokens, completion, Metrics,
            Constraint(settings));

    /// <summary>The output format a request asks for, as a token constraint; null for free text.</summary>
    internal Constraints.ITokenConstraint? Constraint(GenerationSettings settings) =>
        settings.Choices.Count > 0 ? new Constraints.ChoiceConstraint(VocabularyBytes, settings.Choices, _eosIds)
        : settings.ResponseFormat == ResponseFormat.JsonObject ? new Constraints.AutomatonConstraint<Constraints.JsonState>(JsonMasks, _eosIds)
        : settings.Grammar is { Trigger: { } trigger } lazy ? new Constraints.TriggeredConstraint(VocabularyBytes, trigger, GrammarMasks(lazy), _eosIds)
        : settings.Grammar is { } grammar ? new Constraints.AutomatonConstraint<int>(GrammarMasks(grammar), _eosIds)
        : null;

    /// <summary>Allowed-token masks for JSON output, built on first use (a pass over the vocabulary) and shared by every sequence.</summary>
    public Constraints.TokenMasks<Constraints.JsonState> JsonMasks => LazyInitializer.EnsureInitialized(ref _jsonMasks,
        () => new Constraints.TokenMasks<Constraints.JsonState>(VocabularyBytes, Constraints.JsonObjectAutomaton.Instance, JsonMaskBytes));

    /// <summary>Memory json_object's cached masks may take.</summary>
    private const long JsonMaskBytes = 32 << 20;

    /// <summary>A JSON schema's or regex's masks, compiled on first use and kept (<see cref="Constraints.GrammarCache"/>); one it cannot enforce is refused, naming why.</summary>
    public Constraints.TokenMasks<int> GrammarMasks(Constraints.OutputGrammar grammar)
    {
        try
        {
            return LazyInitializer.EnsureInitialized(ref _grammars, () => new Constraints.GrammarCache(VocabularyBytes)).Get(grammar);
        }
        catch (Constraints.Grammars.GrammarException e)
        {
            throw new GenerationRequestException(e.Message, grammar.Parameter ?? (grammar.Kind == Constraints.GrammarKind.Regex ? "guided_regex" : "response_format"));
        }
    }

    private Constraints.GrammarCache? _grammars;

    /// <summary>Each token's bytes, sorted, for constrained decoding; built on first use.</summary>
    public Constraints.VocabularyBytes VocabularyBytes => LazyInitializer.EnsureInitialized(ref _vocabularyBytes,
        () => new Constraints.VocabularyBytes(Tokenizer, Math.Min(_session.VocabularySize, Tokenizer.VocabularySize)));

    private Constraints.TokenMasks<Constraints.JsonState>? _jsonMasks;
    private Constraints.VocabularyBytes? _vocabularyBytes;

    /// <summary>Validates a request and fits it into the context as it asks; returns the prompt to run.</summary>
    internal int[] Prepare(IReadOnlyList<int> promptIds, GenerationSettings settings, out int maxTokens)
    {
        settings.Validate();
        if (settings.Grammar is { } grammar)
            GrammarMasks(grammar); // compiled now, so that a schema it cannot enforce is refused before the request is queued
        if (promptIds.Count == 0)
            throw new GenerationRequestException("The prompt is empty: it must hold at least one token.", "prompt");
        foreach (int token in settings.LogitBias.Keys)
        {
            if ((uint)token >= (uint)_session.VocabularySize)
                throw new GenerationRequestException($"logit_bias names token {token}, outside the vocabulary (0..{_session.VocabularySize - 1}).", "logit_bias");
        }
        foreach (int id in promptIds)
        {
            if ((uint)id >= (uint)_session.VocabularySize)
                throw new GenerationRequestException($"Token id {id} is outside the vocabulary (0..{_session.VocabularySize - 1}).", "prompt");
        }
        maxTokens = settings.MaxTokens;
        int[] prompt = [.. promptIds];
        // In 64 bits: max_tokens near int.MaxValue must not wrap round and pass.
        if ((long)prompt.Length + maxTokens <= ContextLength)
            return prompt;
        switch (settings.ContextOverflow)
        {
            case ContextOverflow.TruncatePrompt when maxTokens < ContextLength:
                return prompt[^(ContextLength - maxTokens)..];
            case ContextOverflow.TruncateCompletion when prompt.Length < ContextLength:
                maxTokens = ContextLength - prompt.Length;
                return prompt;
            default:
                throw new GenerationRequestException(
                    $"The prompt ({prompt.Length} tokens) plus max_tokens ({maxTokens}) exceeds the model's context length of {ContextLength} tokens.",
                    prompt.Length >= ContextLength ? "prompt" : "max_tokens");
        }
    }

    public void Dispose() => _session.Dispose();
}
