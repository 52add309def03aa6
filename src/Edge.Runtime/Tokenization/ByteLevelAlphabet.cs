namespace Edge.Runtime.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map used by byte-level BPE vocabularies: printable
/// bytes stand for themselves, the rest are shifted past U+0100 so no token holds whitespace
/// or control characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly Dictionary<char, byte> CharToByte = Build();

    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    private static Dictionary<char, byte> Build()
    {
        var map = new Dictionary<char, byte>(256);
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char)b : (char)(256 + shifted++);
            map[c] = (byte)b;
        }
        return map;
    }
}
