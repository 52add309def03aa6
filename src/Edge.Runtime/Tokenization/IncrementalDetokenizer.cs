using System.Text;

namespace Edge.Runtime.Tokenization;

/// <summary>
/// Turns generated tokens into text deltas without ever splitting a UTF-8 character: byte-level
/// BPE tokens may hold part of one, and those bytes wait until the character is complete.
/// </summary>
public sealed class IncrementalDetokenizer(ModelTokenizer tokenizer, bool skipSpecialTokens = true)
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly List<byte> _bytes = new(64);
    private char[] _chars = new char[64];

    public string Push(int token)
    {
        if (skipSpecialTokens && tokenizer.IsSpecial(token))
            return "";
        _bytes.Clear();
        tokenizer.AppendTokenBytes(token, _bytes);
        return Decode(flush: false);
    }

    /// <summary>Whatever incomplete bytes remain, as U+FFFD (the generation ended mid-character).</summary>
    public string Flush()
    {
        _bytes.Clear();
        return Decode(flush: true);
    }

    private string Decode(bool flush)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes);
        int needed = _utf8.GetCharCount(span, flush);
        if (needed > _chars.Length)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int written = _utf8.GetChars(span, _chars, flush);
        return written == 0 ? "" : new string(_chars, 0, written);
    }
}
