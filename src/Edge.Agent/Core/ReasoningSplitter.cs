namespace Edge.Agent.Core;

/// <summary>
/// Splits a reasoning model's output into its thinking and its answer, as DeepSeek's API returns
/// them (reasoning_content and content). R1 and its distills open the think block in the
/// generation prompt, so their output starts inside it and closes it with &lt;/think&gt;; a model
/// that opens it itself starts with &lt;think&gt;. Text arrives in deltas that may cut a tag in
/// two, so a possible tag prefix is held back until the next delta (or the end) decides it.
/// </summary>
internal sealed class ReasoningSplitter(bool startsInside)
{
    private const string Open = "<think>";
    private const string Close = "</think>";

    private bool _thinking = startsInside;
    private bool _decidedOpening = startsInside; // whether a leading <think> may still come
    private bool _trimAnswerStart; // right after </think>: the newlines before the answer are the template's, not the answer's
    private string _held = "";

    /// <summary>Whether a prompt ends inside an open think block (its tail after the last &lt;/think&gt; has &lt;think&gt;).</summary>
    public static bool PromptOpensThinking(string promptTail)
    {
        int open = promptTail.LastIndexOf(Open, StringComparison.Ordinal);
        return open >= 0 && promptTail.IndexOf(Close, open, StringComparison.Ordinal) < 0 && promptTail[(open + Open.Length)..].Trim().Length == 0;
    }

    /// <summary>The reasoning and answer text this delta completes.</summary>
    public (string Reasoning, string Content) Feed(string delta)
    {
        string text = _held + delta;
        _held = "";
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        while (text.Length > 0)
        {
            if (!_decidedOpening)
            {
                string trimmed = text.TrimStart();
                if (trimmed.StartsWith(Open, StringComparison.Ordinal))
                {
                    _thinking = true;
                    _decidedOpening = true;
                    text = trimmed[Open.Length..];
                    continue;
                }
                if (Open.StartsWith(trimmed, StringComparison.Ordinal))
                {
                    _held = text; // could still become <think>
                    break;
                }
                _decidedOpening = true;
            }
            // Only the thinking ends on a tag; the answer is taken as it is.
            int at = _thinking ? text.IndexOf(Close, StringComparison.Ordinal) : -1;
            if (at >= 0)
            {
                reasoning.Append(text[..at]);
                _thinking = false;
                _trimAnswerStart = true;
                text = text[(at + Close.Length)..];
                continue;
            }
            int keep = _thinking ? PartialSuffix(text, Close) : 0;
            (_thinking ? reasoning : content).Append(text[..^keep]);
            _held = text[^keep..];
            break;
        }
        return (reasoning.ToString(), TrimmedAnswer(content.ToString()));
    }

    /// <summary>What is still held at the end of the output (an unfinished tag is plain text).</summary>
    public (string Reasoning, string Content) Flush()
    {
        string held = _held;
        _held = "";
        return _thinking ? (held, "") : ("", TrimmedAnswer(held));
    }

    // DeepSeek's models write "\n\n" between </think> and the answer; the answer starts after it.
    private string TrimmedAnswer(string answer)
    {
        if (!_trimAnswerStart)
            return answer;
        answer = answer.TrimStart('\n');
        _trimAnswerStart = answer.Length == 0;
        return answer;
    }

    private static int PartialSuffix(string text, string tag)
    {
        for (int length = Math.Min(tag.Length - 1, text.Length); length > 0; length--)
        {
            if (text.EndsWith(tag[..length], StringComparison.Ordinal))
                return length;
        }
        return 0;
    }
}
