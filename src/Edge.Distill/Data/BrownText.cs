using System.Text;

namespace Edge.Distill.Data;

/// <summary>
/// The Brown corpus writes each token as <c>word/tag</c> (<c>The/at Fulton/np-tl ``/`` ./.</c>).
/// This turns a tagged line back into ordinary text: tags dropped, LaTeX-style quotes made plain,
/// no space before closing punctuation or after an opening quote.
/// </summary>
internal static class BrownText
{
    private static readonly HashSet<string> NoSpaceBefore = [".", ",", ";", ":", "?", "!", ")", "'", "\"close", "'s", "n't"];

    /// <summary>The corpus's text files are named by genre letter and number: ca01 ... cr09.</summary>
    public static bool IsCorpusFile(string path) =>
        Path.GetFileName(path) is { Length: 4 } name && name[0] == 'c' && name[1] is >= 'a' and <= 'r' && char.IsAsciiDigit(name[2]) && char.IsAsciiDigit(name[3]);

    public static string Untag(string line)
    {
        var text = new StringBuilder(line.Length);
        bool openQuote = false;
        foreach (string token in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            int slash = token.LastIndexOf('/');
            string word = slash > 0 ? token[..slash] : token;
            string kind = word switch { "``" => "\"open", "''" => "\"close", _ => word };
            word = word is "``" or "''" ? "\"" : word;
            bool attach = text.Length == 0 || openQuote || NoSpaceBefore.Contains(kind);
            if (!attach)
                text.Append(' ');
            text.Append(word);
            openQuote = kind is "\"open" or "(";
        }
        return text.ToString();
    }
}
