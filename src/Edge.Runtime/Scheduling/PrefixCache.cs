using System.Runtime.InteropServices;

namespace Edge.Runtime.Scheduling;

/// <summary>
/// Cache rows of token sequences computed before (a system prompt, a conversation so far), kept
/// within a byte budget so that a later prompt starting with the same tokens copies them instead
/// of recomputing them. Rows depend only on the tokens and their positions, so a copied prefix is
/// the prefix the model would compute. Entries are whole sequences; a lookup takes the longest
/// common prefix with any of them, and the least recently used entry goes first when the budget
/// is full. Used from the inference thread only.
/// </summary>
internal sealed unsafe class PrefixCache : IDisposable
{
    /// <summary>Shorter sequences are not worth an entry: recomputing them costs about as much as the copy.</summary>
    public const int MinimumTokens = 16;

    /// <summary>Entries are scanned on every admission: their number is bounded whatever the budget.</summary>
    public const int MaxEntries = 64;

    private readonly CacheArena[] _arenas;
    private readonly long[] _bytesPerPosition;
    private readonly long _bytesPerToken;
    private readonly long _budget;
    private readonly List<Entry> _entries = [];
    private long _bytes;
    private long _clock;

    /// <param name="bytesPerPosition">For each arena, the bytes one position takes in a slot's row.</param>
    public PrefixCache(CacheArena[] arenas, long[] bytesPerPosition, long budgetBytes)
    {
        _arenas = arenas;
        _bytesPerPosition = bytesPerPosition;
        _bytesPerToken = bytesPerPosition.Sum();
        _budget = budgetBytes;
    }

    /// <summary>Bytes the entries hold.</summary>
    public long Bytes => _bytes;

    /// <summary>
    /// Copies the longest kept prefix of <paramref name="prompt"/> into a slot's rows and returns its
    /// length; 0 when none is long enough. At least the prompt's last token is left to compute,
    /// since its logits are what the first sample needs.
    /// </summary>
    public int Restore(int slot, ReadOnlySpan<int> prompt)
    {
        Entry? best = null;
        int bestLength = 0;
        foreach (var entry in _entries)
        {
            int common = prompt.CommonPrefixLength(entry.Tokens);
            if (common > bestLength)
                (best, bestLength) = (entry, common);
        }
        bestLength = Math.Min(bestLength, prompt.Length - 1);
        if (best is null || bestLength < MinimumTokens)
            return 0;
        best.LastUse = ++_clock;
        for (int i = 0; i < _arenas.Length; i++)
        {
            long bytes = bestLength * _bytesPerPosition[i];
            Buffer.MemoryCopy((void*)best.Rows[i], (void*)_arenas[i].Row(slot), _arenas[i].RowBytes, bytes);
        }
        return bestLength;
    }

    /// <summary>Keeps a copy of a slot's first <paramref name="tokens"/>.Length positions, which hold those tokens.</summary>
    public void Retain(int slot, ReadOnlySpan<int> tokens)
    {
        long bytes = tokens.Length * _bytesPerToken;
        if (tokens.Length < MinimumTokens || bytes > _budget)
            return;
        // Already covered by a longer entry: nothing new to keep.
        foreach (var entry in _entries)
        {
            if (entry.Tokens.Length >= tokens.Length && tokens.SequenceEqual(entry.Tokens.AsSpan(0, tokens.Length)))
            {
                entry.LastUse = ++_clock;
                return;
            }
        }
        // An entry this one extends (the same conversation, one turn later) is superseded.
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            if (tokens.StartsWith(_entries[i].Tokens))
                Remove(i);
        }
        while (_entries.Count > 0 && (_bytes + bytes > _budget || _entries.Count >= MaxEntries))
            Remove(LeastRecentlyUsed());
        var rows = new IntPtr[_arenas.Length];
        for (int i = 0; i < _arenas.Length; i++)
        {
            long size = tokens.Length * _bytesPerPosition[i];
            rows[i] = (IntPtr)NativeMemory.Alloc((nuint)size);
            Buffer.MemoryCopy((void*)_arenas[i].Row(slot), (void*)rows[i], size, size);
        }
        _entries.Add(new Entry(tokens.ToArray(), rows) { LastUse = ++_clock });
        _bytes += bytes;
    }

    private int LeastRecentlyUsed()
    {
        int oldest = 0;
        for (int i = 1; i < _entries.Count; i++)
        {
            if (_entries[i].LastUse < _entries[oldest].LastUse)
                oldest = i;
        }
        return oldest;
    }

    private void Remove(int index)
    {
        var entry = _entries[index];
        _entries.RemoveAt(index);
        _bytes -= entry.Tokens.Length * _bytesPerToken;
        foreach (var row in entry.Rows)
            NativeMemory.Free((void*)row);
    }

    public void Dispose()
    {
        while (_entries.Count > 0)
            Remove(_entries.Count - 1);
    }

    private sealed class Entry(int[] tokens, IntPtr[] rows)
    {
        public int[] Tokens { get; } = tokens;
        public IntPtr[] Rows { get; } = rows;
        public long LastUse { get; set; }
    }
}
