namespace Edge.Runtime.Sampling;

/// <summary>
/// Finds stop strings in streamed text even when they span tokens. Text that could still turn
/// into a stop string is held back; text of a stop string is never emitted.
/// </summary>
internal sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    private string _pending = "";

    public bool Stopped { get; private set; }

    /// <summary>Adds a delta; returns the text that is now safe to emit.</summary>
    public string Push(string delta)
    {
        if (Stopped)
            return "";
        if (stops.Count == 0)
            return delta;
        string text = _pending + delta;
        int earliest = -1;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
                earliest = at;
        }
        if (earliest >= 0)
        {
            Stopped = true;
            _pending = "";
            return text[..earliest];
        }
        int hold = HeldBackLength(text);
        _pending = text[^hold..];
        return text[..^hold];
    }

    /// <summary>The held-back text, once the generation ends without a stop.</summary>
    public string Flush()
    {
        string rest = _pending;
        _pending = "";
        return rest;
    }

    // The longest suffix of text that is a proper prefix of some stop string.
    private int HeldBackLength(string text)
    {
        int longest = 0;
        foreach (string stop in stops)
        {
            for (int length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (string.CompareOrdinal(text, text.Length - length, stop, 0, length) == 0)
                {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
