using System.Text;

namespace Edge.Distill.Data;

/// <summary>How the input files are written: plain text, or the Brown corpus's word/TAG tokens.</summary>
internal enum CorpusFormat
{
    Text,
    BrownTagged,
}

/// <summary>
/// Reads documents from text files and folders of them, one at a time (a corpus larger than memory
/// streams through): a document is a paragraph, the lines between blank lines. Files are taken in
/// ordinal path order so that the same inputs give the same documents.
/// </summary>
internal static class TextCorpus
{
    /// <summary>The text files among the inputs; in Brown format only the corpus's own files (ca01 ... cr09), not its README or index.</summary>
    public static IEnumerable<string> Files(IEnumerable<string> inputs, CorpusFormat format) =>
        Expand(inputs).Where(file => format != CorpusFormat.BrownTagged || BrownText.IsCorpusFile(file));

    private static IEnumerable<string> Expand(IEnumerable<string> inputs)
    {
        foreach (string input in inputs)
        {
            if (File.Exists(input))
                yield return input;
            else if (Directory.Exists(input))
            {
                foreach (string file in Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    if (LooksLikeText(file))
                        yield return file;
                }
            }
            else
                throw new FileNotFoundException($"{input} is neither a file nor a folder.");
        }
    }

    public static IEnumerable<string> Documents(string file, CorpusFormat format)
    {
        var paragraph = new StringBuilder();
        foreach (string line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                if (paragraph.Length > 0)
                    yield return paragraph.ToString();
                paragraph.Clear();
                continue;
            }
            string text = format == CorpusFormat.BrownTagged ? BrownText.Untag(line) : line.Trim();
            if (text.Length == 0)
                continue;
            if (paragraph.Length > 0)
                paragraph.Append(format == CorpusFormat.BrownTagged ? ' ' : '\n');
            paragraph.Append(text);
        }
        if (paragraph.Length > 0)
            yield return paragraph.ToString();
    }

    /// <summary>Skips binary files (a NUL in the first 8 KiB), such as the pickles shipped beside the Brown corpus.</summary>
    private static bool LooksLikeText(string file)
    {
        using var stream = File.OpenRead(file);
        var head = new byte[8192];
        int read = stream.Read(head);
        return Array.IndexOf(head, (byte)0, 0, read) < 0;
    }
}
