using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Edge.Agent.Caching;
using Edge.Agent.Serving;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Core;

/// <summary>
/// The one path every completion takes, whatever transport brought it: a lease on the model in
/// service, admission (engine health, limits), the prompt (tokenizer or chat template, stopped
/// when the caller leaves), the response cache, then the batching scheduler or a single
/// sequence. Refusals throw <see cref="RefusalException"/> before anything runs; an engine fault
/// later ends the updates with <see cref="GenerationFaultException"/>.
/// </summary>
internal sealed partial class CompletionService(ModelSlot slot, AdmissionLimits limits, ModelNames names, ILogger<CompletionService> logger, Metrics.AgentMetrics? metrics = null)
{
    /// <summary>Starts a completion; dispose the run when done with it (it holds the model).</summary>
    public CompletionRun Start(CompletionRequest request, CancellationToken cancellation)
    {
        var lease = slot.Acquire(); // the whole answer comes from one model, even across an update
        try
        {
            return Admit(lease, request, cancellation);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private CompletionRun Admit(ModelSlot.Lease lease, CompletionRequest request, CancellationToken cancellation)
    {
        var model = lease.Model;
        var engine = model.Engine;
        names.Check(engine.Package.Manifest.Name, request.Model);
        if (model.Scheduler?.Fault is { } fault)
            throw new RefusalException(RefusalKind.Unavailable, $"The engine has stopped and cannot take requests: {fault}");
        var settings = request.Settings.WithDefaults(engine.Package.GenerationDefaults, request.SamplingGiven);
        if (request.FillContext)
            settings = settings with { MaxTokens = limits.MaxTokens > 0 ? limits.MaxTokens : engine.ContextLength, ContextOverflow = ContextOverflow.TruncateCompletion };
        if (limits.MaxTokens > 0 && settings.MaxTokens > limits.MaxTokens)
            throw RefusalException.Invalid($"max_tokens ({settings.MaxTokens}) exceeds this server's limit of {limits.MaxTokens}.", "max_tokens");
        if (request.Tools is { Active: true } tools
            && Core.Tools.ToolAnswer.Grammar(tools, Core.Tools.ToolCallFormat.For(engine.Tokenizer.Config.ChatTemplate)) is { } toolGrammar)
        {
            bool constrained = settings.Grammar is not null || settings.Choices.Count > 0 || settings.ResponseFormat != ResponseFormat.Text;
            if (constrained && tools.Mode != Core.Tools.ToolChoiceMode.Auto)
                throw RefusalException.Invalid("tool_choice required or a named function constrains the answer to tool calls; it cannot be combined with response_format or guided decoding.", "tool_choice");
            // With auto, an output format the caller asked for wins, and calls are read unconstrained.
            if (!constrained)
                settings = settings with { Grammar = toolGrammar };
        }
        int[] prompt = Encode(engine, request, addSpecialTokens: true, addGenerationPrompt: true, cancellation);
        if (limits.MaxPromptTokens > 0 && prompt.Length > limits.MaxPromptTokens)
            throw RefusalException.Invalid($"The prompt has {prompt.Length} tokens; this server's limit is {limits.MaxPromptTokens}.", request.PromptField);
        var (updates, cacheStatus) = Translated(() => Generate(model, request.CacheRoute, prompt, settings, cancellation));
        // A chat whose rendered prompt leaves a <think> block open (R1 and its distills) answers with its reasoning first.
        bool thinks = request.Kind == CompletionKind.Chat
            && ReasoningSplitter.PromptOpensThinking(engine.Tokenizer.Decode(prompt[Math.Max(0, prompt.Length - 8)..], skipSpecialTokens: false));
        var toolFormat = request.Tools is { Active: true } ? Core.Tools.ToolCallFormat.For(engine.Tokenizer.Config.ChatTemplate) : null;
        return new CompletionRun(lease, engine.Package.Manifest.Name, cacheStatus, updates, thinks, request.IncludeReasoning)
        {
            Tools = toolFormat is null ? null : (request.Tools!, toolFormat),
        };
    }

    /// <summary>
    /// The prompt's token ids as a completion would see them (the /v1/tokenize route), under the
    /// same byte limit and on the model in service.
    /// </summary>
    public (int[] Ids, int ContextLength) Tokenize(CompletionRequest request, bool addSpecialTokens, bool addGenerationPrompt, CancellationToken cancellation)
    {
        using var lease = slot.Acquire();
        names.Check(lease.Model.Engine.Package.Manifest.Name, request.Model);
        return (Encode(lease.Model.Engine, request, addSpecialTokens, addGenerationPrompt, cancellation), lease.Model.Engine.ContextLength);
    }

    /// <summary>
    /// The prompt's ids: the byte limit first (so that no request buys more tokenizer or template
    /// work than it allows), then the tokenizer or the chat template, stopped if the caller leaves.
    /// </summary>
    private int[] Encode(InferenceEngine engine, CompletionRequest request, bool addSpecialTokens, bool addGenerationPrompt, CancellationToken cancellation)
    {
        if (request.PromptBytes > limits.MaxPromptBytes)
            throw new RefusalException(RefusalKind.TooLarge,
                $"The {request.PromptField} is {request.PromptBytes} bytes; this server's limit is {limits.MaxPromptBytes} (Limits:MaxPromptBytes).", request.PromptField);
        return Translated(() => request.Kind == CompletionKind.Text
            ? engine.Tokenizer.Encode(request.Prompt!, addSpecialTokens, cancellation)
            : request.Tools is { Active: true } tools ? EncodeWithTools(engine, request.Messages!.Value, tools, addGenerationPrompt, cancellation)
            : engine.EncodeChat(request.Messages!.Value, addGenerationPrompt: addGenerationPrompt, cancellation: cancellation));
    }

    /// <summary>
    /// A chat with tools: a template that renders 'tools' itself gets them; any other (DeepSeek-V3's
    /// and R1's do not) gets the model family's tool instructions in the system message, as
    /// DeepSeek's own API adds them.
    /// </summary>
    private static int[] EncodeWithTools(InferenceEngine engine, System.Text.Json.JsonElement messages, Core.Tools.ToolSettings tools, bool addGenerationPrompt, CancellationToken cancellation)
    {
        string? source = engine.Tokenizer.Config.ChatTemplate;
        if (source is not null && System.Text.RegularExpressions.Regex.IsMatch(source, @"(?<![A-Za-z_])tools(?![A-Za-z_])"))
            return engine.EncodeChat(messages, tools.Tools, addGenerationPrompt, cancellation);
        string instructions = Core.Tools.ToolCallFormat.For(source).Instructions(tools.Functions);
        var list = System.Text.Json.Nodes.JsonNode.Parse(messages.GetRawText())!.AsArray();
        if (list.Count > 0 && list[0] is System.Text.Json.Nodes.JsonObject first && (string?)first["role"] == "system")
            first["content"] = $"{(string?)first["content"]}\n\n{instructions}";
        else
            list.Insert(0, (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["role"] = "system", ["content"] = instructions });
        using var document = System.Text.Json.JsonDocument.Parse(list.ToJsonString());
        return engine.EncodeChat(document.RootElement, addGenerationPrompt: addGenerationPrompt, cancellation: cancellation);
    }

    /// <summary>The engine's refusals in the core's one refusal type.</summary>
    private static T Translated<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (GenerationRequestException e)
        {
            throw RefusalException.Invalid(e.Message, e.Parameter);
        }
        catch (SchedulerOverloadedException e)
        {
            throw new RefusalException(RefusalKind.Overloaded, e.Message);
        }
        catch (EngineUnavailableException e)
        {
            throw new RefusalException(RefusalKind.Unavailable, e.Message);
        }
    }

    private (IAsyncEnumerable<GenerationChunk> Updates, string CacheStatus) Generate(ServingModel model, string route, int[] prompt, GenerationSettings settings, CancellationToken cancellation)
    {
        var cache = model.Cache;
        if (cache is null || !ResponseCache.IsDeterministic(settings))
            return (Watched(Run(model, prompt, settings, cancellation), model.Health), "bypass");
        settings.Validate();
        string key = cache.Key(route, prompt, settings);
        if (Find(cache, key) is { } answer)
        {
            metrics?.CountCache(hit: true);
            return (Replay(answer), "hit");
        }
        metrics?.CountCache(hit: false);
        return (Remember(cache, key, Watched(Run(model, prompt, settings, cancellation), model.Health), CancellationToken.None), "miss");
    }

    private static IAsyncEnumerable<GenerationChunk> Run(ServingModel model, int[] prompt, GenerationSettings settings, CancellationToken cancellation)
    {
        if (model.Scheduler is { } scheduler)
            return scheduler.StreamAsync(prompt, settings, cancellation);
        // A model without shared-buffer caches: one sequence on a thread of its own.
        var chunks = model.Engine.Stream(prompt, settings, cancellation);
        var channel = Channel.CreateUnbounded<GenerationChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _ = Task.Run(() =>
        {
            try
            {
                foreach (var chunk in chunks)
                    channel.Writer.TryWrite(chunk);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e is GenerationFaultException ? e : new GenerationFaultException(GenerationStage.Step, e));
            }
        }, CancellationToken.None);
        return channel.Reader.ReadAllAsync(CancellationToken.None);
    }

    /// <summary>Counts how the engine's generation ended, for the probation after an update: finished, or failed (an engine fault, not a cancellation).</summary>
    private static async IAsyncEnumerable<GenerationChunk> Watched(IAsyncEnumerable<GenerationChunk> chunks, ServingHealth health)
    {
        await using var enumerator = chunks.GetAsyncEnumerator();
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync())
                    break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                health.RecordFailed();
                throw;
            }
            if (enumerator.Current.FinishReason is { } reason && reason != FinishReason.Cancelled)
                health.RecordFinished();
            yield return enumerator.Current;
        }
    }

    /// <summary>A cache that cannot be read (a damaged or vanished file) is a miss, not a failed request.</summary>
    private CachedAnswer? Find(ResponseCache cache, string key)
    {
        try
        {
            return cache.Find(key);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            metrics?.CountCacheFailure("read");
            CacheFailed(logger, "read", e.Message);
            return null;
        }
    }

    private static async IAsyncEnumerable<GenerationChunk> Replay(CachedAnswer answer)
    {
        await Task.CompletedTask;
        if (answer.Text.Length > 0)
            yield return new GenerationChunk(answer.Text);
        yield return new GenerationChunk("", answer.FinishReason, new GenerationUsage(answer.PromptTokens, answer.CompletionTokens));
    }

    /// <summary>
    /// Passes the chunks through and stores the answer once it finished (not if cancelled). A
    /// failed write (a full disk) is logged and counted; the answer still goes out.
    /// </summary>
    private async IAsyncEnumerable<GenerationChunk> Remember(ResponseCache cache, string key, IAsyncEnumerable<GenerationChunk> chunks, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var text = new StringBuilder();
        await foreach (var chunk in chunks.WithCancellation(cancellation))
        {
            text.Append(chunk.Text);
            if (chunk is { FinishReason: { } reason and not FinishReason.Cancelled, Usage: { } usage })
            {
                try
                {
                    cache.Store(key, new CachedAnswer(text.ToString(), reason, usage.PromptTokens, usage.CompletionTokens));
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    metrics?.CountCacheFailure("write");
                    CacheFailed(logger, "write", e.Message);
                }
            }
            yield return chunk;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response cache {Operation} failed ({Reason}); the request is served without it.")]
    private static partial void CacheFailed(ILogger logger, string operation, string reason);
}

/// <summary>
/// A started completion: the model it runs on (held until disposed), whether the cache answered
/// ("hit", "miss", or "bypass" when the request is not deterministic) and its updates.
/// </summary>
internal sealed class CompletionRun(ModelSlot.Lease lease, string model, string cacheStatus, IAsyncEnumerable<GenerationChunk> updates, bool startsThinking = false, bool includeReasoning = true) : IDisposable
{
    public string Model { get; } = model;

    /// <summary>Whether the caller wants the thinking back; when not, it is split off and dropped.</summary>
    public bool IncludeReasoning { get; } = includeReasoning;

    /// <summary>The tools the answer is read for, and the syntax its model writes them in; null when there are none.</summary>
    public (Core.Tools.ToolSettings Settings, Core.Tools.ToolCallFormat Format)? Tools { get; init; }

    /// <summary>A reader of this run's answer for tool calls; null without tools.</summary>
    public Core.Tools.ToolAnswer? ToolAnswer() => Tools is { } t ? new Core.Tools.ToolAnswer(t.Settings, t.Format) : null;

    /// <summary>The tokenizer of the model the run holds, to spell out token ids (log probabilities).</summary>
    public Edge.Runtime.Tokenization.ModelTokenizer Tokenizer => lease.Model.Engine.Tokenizer;

    /// <summary>Whether the output starts inside a think block, its reasoning to be told apart from its answer.</summary>
    public bool StartsThinking { get; } = startsThinking;

    /// <summary>A splitter for this run's output: every chat answer gets one, as a model may open a think block itself.</summary>
    public ReasoningSplitter Splitter() => new(StartsThinking);
    public string CacheStatus { get; } = cacheStatus;
    public IAsyncEnumerable<GenerationChunk> Updates { get; } = updates;

    /// <summary>
    /// Waits for the whole answer, passing each text delta to <paramref name="onDelta"/> (streaming
    /// transports preview it). Throws <see cref="OperationCanceledException"/> when the generation was cancelled.
    /// </summary>
    public async Task<CompletionResult> CollectAsync(Func<string, Task>? onDelta = null, ReasoningSplitter? splitter = null, CancellationToken cancellation = default)
    {
        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        List<TokenLogprob>? logprobs = null;
        GenerationChunk? last = null;
        await foreach (var chunk in Updates.WithCancellation(cancellation))
        {
            last = chunk;
            if (chunk.Logprobs is { } some)
                (logprobs ??= []).AddRange(some);
            if (onDelta is not null && chunk.Text.Length > 0)
                await onDelta(chunk.Text);
            if (splitter is null)
            {
                text.Append(chunk.Text);
                continue;
            }
            var (thought, answer) = chunk.FinishReason is null ? splitter.Feed(chunk.Text) : Concat(splitter.Feed(chunk.Text), splitter.Flush());
            reasoning.Append(thought);
            text.Append(answer);
        }
        if (last is not { FinishReason: { } reason and not FinishReason.Cancelled, Usage: { } usage })
            throw new OperationCanceledException("The generation was cancelled.");
        var (content, calls) = ToolAnswer() is { } tools ? tools.Read(text.ToString()) : (text.ToString(), []);
        return new CompletionResult(content, reason, usage, splitter is null || !IncludeReasoning ? null : reasoning.ToString()) { Logprobs = logprobs, ToolCalls = calls };
    }

    private static (string, string) Concat((string Reasoning, string Content) a, (string Reasoning, string Content) b) => (a.Reasoning + b.Reasoning, a.Content + b.Content);

    public void Dispose() => lease.Dispose();
}
