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
        foreach (var (regex, behavior) in _splits)
        {
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            foreach (var (offset, length) in pieces)
            {
                int cursor = offset;
                int end = offset + length;
                foreach (ValueMatch match in regex.EnumerateMatches(text.AsSpan(offset, length)))
                {
                    if (match.Length == 0)
                        continue;
                    int start = offset + match.Index;
                    if (start > cursor)
                        next.Add((cursor, start - cursor));
                    if (behavior == SplitBehavior.Isolated)
                        next.Add((start, match.Length));
                    cursor = start + match.Length;
                }
                if (end > cursor)
                    next.Add((cursor, end - cursor));
            }
            pieces = next;
        }
        return CutLongPieces(text, pieces);
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
