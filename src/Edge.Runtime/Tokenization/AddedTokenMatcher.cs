namespace Edge.Runtime.Tokenization;

/// <summary>
/// Finds added tokens (special or not) in raw text before pre-tokenization, leftmost and
/// longest first, as the Hugging Face tokenizers library does.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<char, string[]> _byFirstChar;

    public AddedTokenMatcher(Dictionary<string, int> ids)
    {
        _ids = ids;
        _byFirstChar = ids.Keys
            .Where(k => k.Length > 0)
            .GroupBy(k => k[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(k => k.Length).ToArray());
    }

    public int? IdOf(string token) => _ids.TryGetValue(token, out int id) ? id : null;

    /// <summary>Segments of <paramref name="text"/>: plain text (id null) or one added token.</summary>
    public IEnumerable<(int Offset, int Length, int? Id)> Split(string text)
    {
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            string? match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > plainStart)
                yield return (plainStart, i - plainStart, null);
            yield return (i, match.Length, _ids[match]);
            i += match.Length;
            plainStart = i;
        }
        if (text.Length > plainStart)
            yield return (plainStart, text.Length - plainStart, null);
    }

    private string? MatchAt(string text, int index)
    {
        if (!_byFirstChar.TryGetValue(text[index], out var candidates))
            return null;
        foreach (string candidate in candidates)
        {
            if (string.CompareOrdinal(text, index, candidate, 0, candidate.Length) == 0)
                return candidate;
        }
        return null;
    }
}
