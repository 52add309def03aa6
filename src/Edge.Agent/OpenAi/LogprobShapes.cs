using System.Text;
using Edge.Runtime.Inference;
using Edge.Runtime.Tokenization;

namespace Edge.Agent.OpenAi;

/// <summary>
/// The engine's token log probabilities in OpenAI's two shapes: chat's list of entries (token,
/// logprob, UTF-8 bytes, top_logprobs) and the legacy completions' parallel lists. A token that is
/// part of a character (byte-level BPE splits some) is written with U+FFFD; its bytes are exact.
/// </summary>
internal static class LogprobShapes
{
    public static ChatLogprobs Chat(IReadOnlyList<TokenLogprob> tokens, ModelTokenizer tokenizer) =>
        new([.. tokens.Select(t =>
        {
            var (text, bytes) = Spell(tokenizer, t.TokenId);
            return new ChatTokenLogprob(text, t.Logprob, bytes, [.. t.Top.Select(top =>
            {
                var (topText, topBytes) = Spell(tokenizer, top.TokenId);
                return new ChatTopLogprob(topText, top.Logprob, topBytes);
            })]);
        })]);

    /// <param name="offset">Characters of text before the first token (the echoed prompt, or what earlier stream events carried).</param>
    public static CompletionLogprobs Completion(IReadOnlyList<TokenLogprob> tokens, ModelTokenizer tokenizer, int offset)
    {
        var texts = new List<string>();
        var offsets = new List<int>();
        var tops = new List<Dictionary<string, float>>();
        foreach (var token in tokens)
        {
            string text = Spell(tokenizer, token.TokenId).Text;
            texts.Add(text);
            offsets.Add(offset);
            offset += text.Length;
            var top = new Dictionary<string, float>();
            foreach (var alternative in token.Top)
                top.TryAdd(Spell(tokenizer, alternative.TokenId).Text, alternative.Logprob);
            tops.Add(top);
        }
        return new CompletionLogprobs(texts, [.. tokens.Select(t => t.Logprob)], tops, offsets);
    }

    private static (string Text, int[] Bytes) Spell(ModelTokenizer tokenizer, int id)
    {
        var bytes = new List<byte>();
        try
        {
            tokenizer.AppendTokenBytes(id, bytes);
        }
        catch (ArgumentOutOfRangeException)
        {
            // An id with no text (a padding row): no bytes.
        }
        return (Encoding.UTF8.GetString([.. bytes]), [.. bytes.Select(b => (int)b)]);
    }
}
