using Edge.Runtime.Tokenization;

namespace Edge.Runtime.Constraints;

/// <summary>
/// The bytes each token stands for, as constrained decoding needs them: special tokens and holes
/// have none (never allowed), and the tokens with text are also kept sorted by their bytes, with
/// how many leading bytes each shares with the one before (a trie flattened into an array).
/// Built once per model.
/// </summary>
public sealed class VocabularyBytes
{
    private readonly byte[]?[] _bytes;

    public VocabularyBytes(ModelTokenizer tokenizer, int samplable)
    {
        _bytes = new byte[]?[samplable];
        var buffer = new List<byte>();
        for (int id = 0; id < samplable; id++)
        {
            if (tokenizer.IsSpecial(id))
                continue;
            buffer.Clear();
            try
            {
                tokenizer.AppendTokenBytes(id, buffer);
            }
            catch (ArgumentOutOfRangeException)
            {
                continue; // a hole in the vocabulary: no text, never allowed
            }
            if (buffer.Count > 0)
                _bytes[id] = [.. buffer];
        }
        Sorted = [.. Enumerable.Range(0, samplable).Where(id => _bytes[id] is not null)];
        Array.Sort(Sorted, (a, b) => _bytes[a].AsSpan().SequenceCompareTo(_bytes[b]));
        SharedWithPrevious = new int[Sorted.Length];
        for (int i = 1; i < Sorted.Length; i++)
            SharedWithPrevious[i] = _bytes[Sorted[i]].AsSpan().CommonPrefixLength(_bytes[Sorted[i - 1]]);
        LongestToken = Sorted.Length == 0 ? 0 : Sorted.Max(id => _bytes[id]!.Length);
    }

    /// <summary>Token ids covered (the samplable vocabulary).</summary>
    public int Count => _bytes.Length;

    public int[] Sorted { get; }
    public int[] SharedWithPrevious { get; }
    public int LongestToken { get; }

    /// <summary>A token's bytes; null for special tokens, holes and ids outside the vocabulary.</summary>
    public byte[]? Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : null;

    /// <summary>Adds to <paramref name="found"/> every token whose bytes are a prefix of <paramref name="text"/>: one binary search per length.</summary>
    public void AddTokensBeginning(ReadOnlySpan<byte> text, List<int> found)
    {
        for (int length = 1; length <= Math.Min(text.Length, LongestToken); length++)
        {
            var prefix = text[..length];
            int low = 0, high = Sorted.Length - 1;
            while (low <= high)
            {
                int middle = (low + high) >>> 1;
                int order = _bytes[Sorted[middle]].AsSpan().SequenceCompareTo(prefix);
                if (order == 0)
                {
                    found.Add(Sorted[middle]);
                    break;
                }
                if (order < 0)
                    low = middle + 1;
                else
                    high = middle - 1;
            }
        }
    }
}
