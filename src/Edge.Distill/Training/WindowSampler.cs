using Edge.Distill.Data;

namespace Edge.Distill.Training;

/// <summary>
/// Training windows (<c>length + 1</c> tokens: inputs and their next-token targets) in an order
/// fixed by the seed: each epoch visits the shards in a shuffled order and each shard's
/// non-overlapping windows in a shuffled order. Window number g is always the same window, so a
/// run resumed at step k reads exactly what it would have read. One shard in memory at a time.
/// </summary>
internal sealed class WindowSampler
{
    private readonly TokenShards _shards;
    private readonly IReadOnlyList<ShardFile> _split;
    private readonly int _window;
    private readonly long _seed;
    private readonly long[] _windowsPerShard;
    private (long Epoch, int Shard, int[] Tokens, int[] Order)? _cached;

    public WindowSampler(TokenShards shards, IReadOnlyList<ShardFile> split, int length, long seed)
    {
        _shards = shards;
        _split = split;
        _window = length + 1;
        _seed = seed;
        _windowsPerShard = [.. split.Select(s => s.Tokens / _window)];
        WindowsPerEpoch = _windowsPerShard.Sum();
        if (WindowsPerEpoch == 0)
            throw new InvalidDataException($"The shards hold no window of {_window} tokens; use a shorter --seq-len or more text.");
    }

    public long WindowsPerEpoch { get; }

    /// <summary>The g-th window of the run: inputs are [0..length), targets [1..length].</summary>
    public ReadOnlySpan<int> Window(long g)
    {
        long epoch = g / WindowsPerEpoch;
        long rest = g % WindowsPerEpoch;
        foreach (int shard in Permutation(_split.Count, _seed, epoch, -1))
        {
            if (rest < _windowsPerShard[shard])
            {
                var (tokens, order) = Load(epoch, shard);
                return tokens.AsSpan(order[rest] * _window, _window);
            }
            rest -= _windowsPerShard[shard];
        }
        throw new InvalidOperationException("unreachable: the window counts add up to WindowsPerEpoch");
    }

    /// <summary>The shard's tokens (read again only when the shard changes) and its window order for the epoch.</summary>
    private (int[] Tokens, int[] Order) Load(long epoch, int shard)
    {
        if (_cached is not { } c || c.Shard != shard || c.Epoch != epoch)
        {
            var tokens = _cached is { } same && same.Shard == shard ? same.Tokens : _shards.Read(_split[shard]);
            _cached = c = (epoch, shard, tokens, Permutation((int)_windowsPerShard[shard], _seed, epoch, shard));
        }
        return (c.Tokens, c.Order);
    }

    private static int[] Permutation(int count, long seed, long epoch, int shard)
    {
        int[] order = [.. Enumerable.Range(0, count)];
        new Random(StableSeed(seed, epoch, shard)).Shuffle(order);
        return order;
    }

    /// <summary>A seed that is the same in every process (HashCode.Combine is randomised per process).</summary>
    private static int StableSeed(long seed, long epoch, int shard)
    {
        ulong x = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch * 0xBF58476D1CE4E5B9UL ^ (ulong)(shard + 2) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        x *= 0xD6E8FEB86659FD93UL;
        x ^= x >> 32;
        return (int)(x & 0x7FFFFFFF);
    }
}
