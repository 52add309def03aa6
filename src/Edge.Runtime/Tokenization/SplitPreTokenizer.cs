using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Edge.Runtime.Tokenization;

/// <summary>
/// The Hugging Face <c>Sequence</c> of <c>Split</c> pre-tokenizers: each regex splits every piece
/// the previous one produced. With <see cref="SplitBehavior.Isolated"/> both the matches and the
/// text between them become pieces; with <see cref="SplitBehavior.Removed"/> the matches are dropped.
/// A piece longer than <see cref="MaxPieceLength"/> characters is cut into pieces of at most that
/// length (never inside a surrogate pair): byte-pair merging is superlinear in a piece's length,
/// and one run of a million emoji or letters would otherwise take minutes. Hugging Face does not
/// cut; the ids differ from its only inside runs longer than this, which no natural text has.
/// </summary>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly IReadOnlyList<(Regex Regex, SplitBehavior Behavior)> _splits;

    public const int MaxPieceLength = 128;

    public SplitPreTokenizer(IReadOnlyList<(Regex Regex, SplitBehavior Behavior)> splits) => _splits = splits;

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    private List<(int Offset, int Length)> Split(string text)
    {
        var pieces = new List<(int Offset, int Length)>();
        if (text.Length > 0)
            pieces.Add((0, text.Length));
        // Short pieces repeat (digit groups, words, emoji): how each regex splits one is
        // remembered for this text, which makes a flood of them cost a lookup, not a regex run.
        int memoized = 0;
        for (int stage = 0; stage < _splits.Count; stage++)
        {
            var (regex, behavior) = _splits[stage];
            // Looked up by span: a repeated piece costs no string.
            var memo = new Dictionary<string, (int Start, int Length)[]>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            foreach (var (offset, length) in pieces)
            {
                var piece = text.AsSpan(offset, length);
                if (length > MemoizedLength)
                {
                    foreach (var (start, size) in SplitPiece(regex, behavior, piece))
                        next.Add((offset + start, size));
                    continue;
                }
                if (!memo.TryGetValue(piece, out var split))
                {
                    split = [.. SplitPiece(regex, behavior, piece)];
                    if (memoized++ < MaxMemoized)
                        memo[piece] = split;
                }
                foreach (var (start, size) in split)
                    next.Add((offset + start, size));
            }
            pieces = next;
        }
        return CutLongPieces(text, pieces);
    }

    private const int MemoizedLength = 16;
    private const int MaxMemoized = 1 << 16;

    /// <summary>One regex over one piece: the pieces it leaves, relative to the piece's start.</summary>
    private static List<(int Start, int Length)> SplitPiece(Regex regex, SplitBehavior behavior, ReadOnlySpan<char> piece)
    {
        var result = new List<(int Start, int Length)>(2);
        int cursor = 0;
        foreach (ValueMatch match in regex.EnumerateMatches(piece))
        {
            if (match.Length == 0)
                continue;
            if (match.Index > cursor)
                result.Add((cursor, match.Index - cursor));
            if (behavior == SplitBehavior.Isolated)
                result.Add((match.Index, match.Length));
            cursor = match.Index + match.Length;
        }
        if (piece.Length > cursor)
            result.Add((cursor, piece.Length - cursor));
        return result;
    }

    private static List<(int Offset, int Length)> CutLongPieces(string text, List<(int Offset, int Length)> pieces)
    {
        if (pieces.TrueForAll(p => p.Length <= MaxPieceLength))
            return pieces;
        var cut = new List<(int Offset, int Length)>(pieces.Count + 8);
        foreach (var (offset, length) in pieces)
        {
            int start = offset, end = offset + length;
            while (end - start > MaxPieceLength)
            {
                int size = MaxPieceLength;
                if (char.IsHighSurrogate(text[start + size - 1]))
                    size--;
                cut.Add((start, size));
                start += size;
            }
            cut.Add((start, end - start));
        }
        return cut;
    }
}

internal enum SplitBehavior
{
    Isolated,
    Removed,
}
