namespace Edge.Distill.Reporting;

/// <summary>Progress on stderr: one line rewritten in place on a terminal, plain log lines (at most one per 10 s) otherwise.</summary>
internal static class Progress
{
    private static DateTime s_lastLine = DateTime.MinValue;
    private static bool s_pending;

    public static void Report(string line)
    {
        if (!Console.IsErrorRedirected)
        {
            Console.Error.Write($"\r{line}\u001b[K");
            s_pending = true;
        }
        else if (DateTime.UtcNow - s_lastLine >= TimeSpan.FromSeconds(10))
        {
            Console.Error.WriteLine(line);
            s_lastLine = DateTime.UtcNow;
        }
    }

    /// <summary>Ends the in-place line, if one is open.</summary>
    public static void Done()
    {
        if (s_pending)
            Console.Error.WriteLine();
        s_pending = false;
    }
}
