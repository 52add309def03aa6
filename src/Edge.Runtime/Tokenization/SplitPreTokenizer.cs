using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Edge.Runtime.Tokenization;

/// <summary>
/// The Hugging Face <c>Sequence</c> of <c>Split</c> pre-tokenizers: each regex splits every piece
/// the previous one produced. With <see cref="SplitBehavior.Isolated"/> both the matches and the
/// text between them become pieces; with <see cref="SplitBehavior.Removed"/> the matches are dropped.
/// </summary>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly IReadOnlyList<(Regex Regex, SplitBehavior Behavior)> _splits;

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
        return pieces;
    }
}

internal enum SplitBehavior
{
    Isolated,
    Removed,
}
