namespace Edge.Runtime.Tests.Tokenization;

/// <summary>Strings that exercise every branch of byte-level BPE pre-tokenization.</summary>
internal static class TokenizerCorpus
{
    private static readonly string[] Handwritten =
    [
        "", " ", "  ", "\n", "\n\n\n", "\t", " \t \n ", "\r\n", "a\r\nb", "   leading", "trailing   ", "a  b   c    d",
        "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.", "It's, I'm, we'll, they've, she'd",
        "HELLO World hElLo", "e-mail: someone@example.com", "https://example.com/path?q=1&r=2#frag",
        "1", "12", "123", "1234", "12345678901234567890", "3.14159", "1,000,000", "-42", "2026-11-22T21:00:00Z", "v1.2.3",
        "0x1F", "1e-4", "100%", "$9.99", "€5", "¥300", "①②③", "Ⅷ", "½ ¾",
        "你好，世界！", "深度求索是一家人工智能公司。", "我爱北京天安门", "中文English混合text测试123",
        "こんにちは世界", "カタカナとひらがな", "東京タワー", "日本語の文章です。", "한국어 텍스트입니다", "Привет, мир!",
        "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới", "Ünïcödé àccênts façade naïve",
        "😀", "😀😀😀", " 😀", "😀!", "hi 👋 there", "👨‍👩‍👧‍👦 family", "🇩🇪🇯🇵", "❤️", "✔ done", "🤖🚀✨", "a😀b", "😀 😀", "\U0001F600\n",
        "𝕳𝖊𝖑𝖑𝖔", "𠀀𠀁 ext-B", "𝟘𝟙𝟚", "𐍈 gothic",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) { sum += a[i]; }", "if x != y && z >= 3:\n\tpass",
        "SELECT * FROM t WHERE id = 42;", "<html><body>Hi</body></html>", "{\"key\": [1, 2, 3], \"x\": null}",
        "#include <stdio.h>\nint main() { return 0; }", "console.log(`template ${x}`);", "a=b+c-d*e/f%g", "x==y!=z<=w>=v",
        "    indented\n        more\n", "line1\nline2\n\nline4", "!!!???...", "...", "--", "—", "«quotes» “smart” ‘single’",
        "(parens) [brackets] {braces}", "@user #tag $var %mod ^caret &amp *star", "~tilde `backtick` |pipe| \\backslash",
        "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜>",
        "text<｜User｜>", "<｜User｜><｜User｜>", "a <｜Assistant｜> b", "<think>reasoning</think>answer",
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather", "<｜place▁holder▁no▁7｜>",
        "<|im_start|>user", "<s>not special here</s>", "｜", "▁", "a\u00a0b", "a\u2009b", "a\u3000b", "zero\u200bwidth",
        "e\u0301", "\u00e9", "ﬁ ligature", "Ａ full width", "tab\tseparated\tvalues", "trailing newline\n",
        "MixedCASEandNumbers123abc", "snake_case_name", "camelCaseName", "kebab-case-name", "ALLCAPS", "a.b.c.d",
        "Mr. Smith's dog's bone", "don't won't can't", "'quoted'", "\"double\"", "O'Reilly", "rock'n'roll",
        "PLC-7 pressure 4.2 bar at 12:30", "Motor M3: temp=78.5°C, rpm=1450", "ERROR E1023: conveyor jam at station 4",
    ];

    private static readonly string[] Fragments =
    [
        "hello", " world", "  ", "\n", "123", "4567", "你好", "世界", "テスト", "ひらがな", "😀", "🚀", " 🙂", "!", "?!", "...",
        "def", "(x)", "{}", "[1,2]", "\t", "\r\n", "naïve", "Ω", "∑", "→", "的", "の", "a", "B", " C", "'s", "'ll", "-", "_",
        "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>", "    ", "€", "°C", "한글", "Привет", "𝔸",
    ];

    /// <summary>
    /// Long texts whose pieces repeat (the pre-tokenizer answers repeats from its memo) and runs of
    /// exactly the length it cuts at (128 UTF-16 units, where Hugging Face and we still agree).
    /// </summary>
    private static IEnumerable<string> Long(Random random)
    {
        yield return string.Concat(Enumerable.Repeat("Pump 3: 温度 high 🔥 at 12:04, valve 'open'.  ", 120));
        yield return string.Concat(Enumerable.Range(0, 600).Select(_ => Fragments[random.Next(Fragments.Length)]));
        yield return new string('a', 128);
        yield return string.Concat(Enumerable.Repeat("😀", 64));
        yield return new string(' ', 128) + "x";
        yield return string.Join(' ', Enumerable.Range(0, 400).Select(i => (i * 7919 % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>The handwritten strings, long texts, and seeded random mixes of fragments.</summary>
    public static IReadOnlyList<string> All(int generated = 150, int seed = 20261122)
    {
        var random = new Random(seed);
        var all = new List<string>(Handwritten);
        all.AddRange(Long(random));
        for (int i = 0; i < generated; i++)
        {
            int parts = random.Next(1, 9);
            var text = new System.Text.StringBuilder();
            for (int p = 0; p < parts; p++)
                text.Append(Fragments[random.Next(Fragments.Length)]);
            all.Add(text.ToString());
        }
        return all;
    }
}
