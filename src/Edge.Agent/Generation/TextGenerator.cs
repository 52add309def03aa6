using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Edge.Agent.Caching;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Generation;

/// <summary>A started generation and whether the response cache answered it ("hit", "miss", or "bypass" when not deterministic).</summary>
internal sealed record StartedGeneration(IAsyncEnumerable<GenerationChunk> Chunks, string CacheStatus);

/// <summary>
/// Where the HTTP routes send generations: the response cache for deterministic requests it has
/// seen, then the continuous-batching scheduler when the model has shared-buffer caches, or the
/// engine directly, one thread per request. Refusals (invalid request, overloaded) throw before
/// anything is sent to the client.
/// </summary>
internal sealed class TextGenerator(InferenceEngine engine, GenerationScheduler? scheduler, Security.RequestLimits limits, ResponseCache? cache = null,
    Metrics.AgentMetrics? metrics = null, Serving.ServingHealth? health = null)
{
    public StartedGeneration Start(string route, IReadOnlyList<int> prompt, GenerationSettings settings, CancellationToken cancellation)
    {
        if (limits.MaxTokens > 0 && settings.MaxTokens > limits.MaxTokens)
            throw new Http.BadRequestException($"max_tokens ({settings.MaxTokens}) exceeds this server's limit of {limits.MaxTokens}.", "max_tokens");
        if (limits.MaxPromptTokens > 0 && prompt.Count > limits.MaxPromptTokens)
            throw new Http.BadRequestException($"The prompt has {prompt.Count} tokens; this server's limit is {limits.MaxPromptTokens}.", "prompt");
        if (cache is null || !ResponseCache.IsDeterministic(settings))
            return new StartedGeneration(Generate(prompt, settings, cancellation), "bypass");
        settings.Validate();
        string key = cache.Key(route, prompt, settings);
        if (cache.Find(key) is { } answer)
        {
            metrics?.CountCache(hit: true);
            return new StartedGeneration(Replay(answer), "hit");
        }
        metrics?.CountCache(hit: false);
        return new StartedGeneration(Remember(key, Generate(prompt, settings, cancellation), CancellationToken.None), "miss");
    }

    private IAsyncEnumerable<GenerationChunk> Generate(IReadOnlyList<int> prompt, GenerationSettings settings, CancellationToken cancellation) =>
        health is null ? Run(prompt, settings, cancellation) : Watched(Run(prompt, settings, cancellation), health);

    private IAsyncEnumerable<GenerationChunk> Run(IReadOnlyList<int> prompt, GenerationSettings settings, CancellationToken cancellation)
    {
        if (scheduler is not null)
            return scheduler.StreamAsync(prompt, settings, cancellation);
        var chunks = engine.Stream(prompt, settings, cancellation);
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
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        return channel.Reader.ReadAllAsync(CancellationToken.None);
    }

    /// <summary>Counts how the engine's generation ended: finished, or failed (an engine fault, not a cancellation).</summary>
    private static async IAsyncEnumerable<GenerationChunk> Watched(IAsyncEnumerable<GenerationChunk> chunks, Serving.ServingHealth health)
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

    private static async IAsyncEnumerable<GenerationChunk> Replay(CachedAnswer answer)
    {
        await Task.CompletedTask;
        if (answer.Text.Length > 0)
            yield return new GenerationChunk(answer.Text);
        yield return new GenerationChunk("", answer.FinishReason, new GenerationUsage(answer.PromptTokens, answer.CompletionTokens));
    }

    /// <summary>Passes the chunks through and stores the answer once it finished (not if cancelled).</summary>
    private async IAsyncEnumerable<GenerationChunk> Remember(string key, IAsyncEnumerable<GenerationChunk> chunks, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var text = new StringBuilder();
        await foreach (var chunk in chunks.WithCancellation(cancellation))
        {
            text.Append(chunk.Text);
            if (chunk is { FinishReason: { } reason and not FinishReason.Cancelled, Usage: { } usage })
                cache!.Store(key, new CachedAnswer(text.ToString(), reason, usage.PromptTokens, usage.CompletionTokens));
            yield return chunk;
        }
    }
}
