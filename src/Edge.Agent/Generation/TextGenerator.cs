using System.Threading.Channels;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Generation;

/// <summary>
/// Where the HTTP routes send generations: the continuous-batching scheduler when the model has
/// shared-buffer caches, otherwise the engine directly, one thread per request. Either way,
/// refusals (invalid request, overloaded) throw before anything is sent to the client.
/// </summary>
internal sealed class TextGenerator(InferenceEngine engine, GenerationScheduler? scheduler)
{
    public GenerationScheduler? Scheduler { get; } = scheduler;

    public IAsyncEnumerable<GenerationChunk> Start(IReadOnlyList<int> prompt, GenerationSettings settings, CancellationToken cancellation)
    {
        if (Scheduler is not null)
            return Scheduler.StreamAsync(prompt, settings, cancellation);
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
}
