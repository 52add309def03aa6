using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Edge.Runtime.Tokenization;

/// <summary>
/// Builds .NET regexes from the patterns in tokenizer.json so that they match whole code points
/// the way the Rust (Oniguruma) and JavaScript ('u' flag) engines do.
/// </summary>
/// <remarks>
/// .NET regexes see UTF-16 code units: an emoji is two surrogates whose category is Cs, so
/// <c>\p{S}</c> does not match it and <c>[^\p{L}]</c> matches half of it. Tokenizer patterns
/// lean on categories, so each class is rewritten as "the original class on the BMP, or one of
/// the surrogate pairs whose code point the class contains".
/// </remarks>
public static class UnicodeRegex
{
    private const int FirstAstral = 0x10000;
    private const int LastCodePoint = 0x10FFFF;

    public static Regex Create(string pattern) =>
        new(Translate(pattern), RegexOptions.CultureInvariant);

    public static string Translate(string pattern)
    {
        var output = new StringBuilder(pattern.Length * 2);
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length && (pattern[i + 1] == 'p' || pattern[i + 1] == 'P'))
            {
                int end = ReadPropertyEnd(pattern, i);
                string atom = pattern[i..end];
                var members = new CodePointSet();
                AddProperty(members, atom);
                output.Append(WithAstral(atom, members));
                i = end;
            }
            else if (c == '\\' && i + 1 < pattern.Length)
            {
                output.Append(c).Append(pattern[i + 1]);
                i += 2;
            }
            else if (c == '[')
            {
                int end = ReadClassEnd(pattern, i);
                output.Append(TranslateClass(pattern[i..end]));
                i = end;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }
        return output.ToString();
    }

    private static string TranslateClass(string cls)
    {
        bool negated = cls.Length > 1 && cls[1] == '^';
        int i = negated ? 2 : 1;
        var members = new CodePointSet();
        int previous = -1; // last literal, for ranges
        while (i < cls.Length - 1)
        {
            char c = cls[i];
            if (c == '\\')
            {
                char e = cls[i + 1];
                if (e is 'p' or 'P')
                {
                    int end = ReadPropertyEnd(cls, i);
                    AddProperty(members, cls[i..end]);
                    i = end;
                    previous = -1;
                    continue;
                }
                if (e is 's' or 'S' or 'd' or 'D' or 'w' or 'W')
                {
                    AddShorthand(members, e);
                    i += 2;
                    previous = -1;
                    continue;
                }
                previous = -2; // an escaped BMP literal: nothing astral
                i += e switch { 'u' => 6, 'x' => 4, _ => 2 };
                continue;
            }
            if (c == '-' && previous >= FirstAstral && i + 2 < cls.Length && char.IsHighSurrogate(cls[i + 1]))
            {
                int last = char.ConvertToUtf32(cls[i + 1], cls[i + 2]);
                members.AddRange(previous, last);
                i += 3;
                previous = -1;
                continue;
            }
            if (char.IsHighSurrogate(c) && i + 1 < cls.Length && char.IsLowSurrogate(cls[i + 1]))
            {
                previous = char.ConvertToUtf32(c, cls[i + 1]);
                members.AddRange(previous, previous);
                i += 2;
                continue;
            }
            previous = c;
            i++;
        }

        if (negated)
            members = members.Complement();
        if (members.IsEmpty)
            return cls;
        // A negated class must not match half of a surrogate pair on its own.
        string bmp = negated ? cls[..^1] + @"\uD800-\uDFFF]" : cls;
        return WithAstral(bmp, members);
    }

    private static string WithAstral(string bmp, CodePointSet astral)
    {
        string pairs = astral.ToSurrogatePairAlternation();
        return pairs.Length == 0 ? bmp : $"(?:{bmp}|{pairs})";
    }

    private static int ReadPropertyEnd(string pattern, int start)
    {
        if (start + 2 < pattern.Length && pattern[start + 2] == '{')
        {
            int close = pattern.IndexOf('}', start + 3);
            if (close < 0)
                throw new ArgumentException($"Unterminated \\p{{...}} in regex '{pattern}'.");
            return close + 1;
        }
        return start + 3; // \pL
    }

    private static int ReadClassEnd(string pattern, int start)
    {
        int i = start + 1;
        if (i < pattern.Length && pattern[i] == '^')
            i++;
        if (i < pattern.Length && pattern[i] == ']')
            i++; // a leading ']' is a literal
        for (; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
                i++;
            else if (pattern[i] == '[')
                throw new ArgumentException($"Nested character classes are not supported in tokenizer regex '{pattern}'.");
            else if (pattern[i] == ']')
                return i + 1;
        }
        throw new ArgumentException($"Unterminated character class in regex '{pattern}'.");
    }

    private static void AddProperty(CodePointSet members, string atom)
    {
        bool negated = atom[1] == 'P';
        string name = atom[2] == '{' ? atom[3..^1] : atom[2..3];
        if (name.StartsWith('^'))
        {
            negated = !negated;
            name = name[1..];
        }
        var categories = CategoriesNamed(name);
        if (categories is null)
            return; // .NET block names (IsXxx) cover the BMP only
        var set = new CodePointSet();
        set.AddWhere(cp => categories.Contains(Rune.GetUnicodeCategory(new Rune(cp))));
        members.UnionWith(negated ? set.Complement() : set);
    }

    private static void AddShorthand(CodePointSet members, char shorthand)
    {
        var set = new CodePointSet();
        switch (char.ToLowerInvariant(shorthand))
        {
            case 'd':
                set.AddWhere(cp => Rune.GetUnicodeCategory(new Rune(cp)) == UnicodeCategory.DecimalDigitNumber);
                break;
            case 'w':
                set.AddWhere(cp => Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
                    or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                    or UnicodeCategory.NonSpacingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation);
                break;
            default: // \s has no astral members
                break;
        }
        members.UnionWith(char.IsUpper(shorthand) ? set.Complement() : set);
    }

    private static HashSet<UnicodeCategory>? CategoriesNamed(string name) => name switch
    {
        "L" => [UnicodeCategory.UppercaseLetter, UnicodeCategory.LowercaseLetter, UnicodeCategory.TitlecaseLetter, UnicodeCategory.ModifierLetter, UnicodeCategory.OtherLetter],
        "Lu" => [UnicodeCategory.UppercaseLetter],
        "Ll" => [UnicodeCategory.LowercaseLetter],
        "Lt" => [UnicodeCategory.TitlecaseLetter],
        "Lm" => [UnicodeCategory.ModifierLetter],
        "Lo" => [UnicodeCategory.OtherLetter],
        "M" => [UnicodeCategory.NonSpacingMark, UnicodeCategory.SpacingCombiningMark, UnicodeCategory.EnclosingMark],
        "Mn" => [UnicodeCategory.NonSpacingMark],
        "Mc" => [UnicodeCategory.SpacingCombiningMark],
        "Me" => [UnicodeCategory.EnclosingMark],
        "N" => [UnicodeCategory.DecimalDigitNumber, UnicodeCategory.LetterNumber, UnicodeCategory.OtherNumber],
        "Nd" => [UnicodeCategory.DecimalDigitNumber],
        "Nl" => [UnicodeCategory.LetterNumber],
        "No" => [UnicodeCategory.OtherNumber],
        "P" => [UnicodeCategory.ConnectorPunctuation, UnicodeCategory.DashPunctuation, UnicodeCategory.OpenPunctuation, UnicodeCategory.ClosePunctuation,
                UnicodeCategory.InitialQuotePunctuation, UnicodeCategory.FinalQuotePunctuation, UnicodeCategory.OtherPunctuation],
        "S" => [UnicodeCategory.MathSymbol, UnicodeCategory.CurrencySymbol, UnicodeCategory.ModifierSymbol, UnicodeCategory.OtherSymbol],
        "Sm" => [UnicodeCategory.MathSymbol],
        "Sc" => [UnicodeCategory.CurrencySymbol],
        "Sk" => [UnicodeCategory.ModifierSymbol],
        "So" => [UnicodeCategory.OtherSymbol],
        "Z" => [UnicodeCategory.SpaceSeparator, UnicodeCategory.LineSeparator, UnicodeCategory.ParagraphSeparator],
        "C" => [UnicodeCategory.Control, UnicodeCategory.Format, UnicodeCategory.Surrogate, UnicodeCategory.PrivateUse, UnicodeCategory.OtherNotAssigned],
        "Cf" => [UnicodeCategory.Format],
        "Co" => [UnicodeCategory.PrivateUse],
        "Cn" => [UnicodeCategory.OtherNotAssigned],
        _ => null,
    };

    /// <summary>A set of astral code points (U+10000..U+10FFFF) as a bitmap.</summary>
    private sealed class CodePointSet
    {
        private readonly System.Collections.BitArray _bits = new(LastCodePoint - FirstAstral + 1);

        public bool IsEmpty
        {
            get
            {
                for (int i = 0; i < _bits.Length; i++)
                {
                    if (_bits[i])
                        return false;
                }
                return true;
            }
        }

        public void AddRange(int first, int last)
        {
            for (int cp = Math.Max(first, FirstAstral); cp <= last; cp++)
                _bits[cp - FirstAstral] = true;
        }

        public void AddWhere(Func<int, bool> predicate)
        {
            for (int cp = FirstAstral; cp <= LastCodePoint; cp++)
            {
                if (predicate(cp))
                    _bits[cp - FirstAstral] = true;
            }
        }

        public void UnionWith(CodePointSet other) => _bits.Or(other._bits);

        public CodePointSet Complement()
        {
            var result = new CodePointSet();
            result._bits.Or(_bits);
            result._bits.Not();
            return result;
        }

        /// <summary>Alternatives like <c>\uD83D[\uDE00-\uDE4F]|[\uD840-\uD868][\uDC00-\uDFFF]</c>.</summary>
        public string ToSurrogatePairAlternation()
        {
            var alternatives = new List<string>();
            string? pendingLows = null;
            int pendingFirstHigh = 0, pendingLastHigh = 0;
            for (int high = 0xD800; high <= 0xDBFF; high++)
            {
                string? lows = LowRangesFor(high);
                if (lows is not null && lows == pendingLows && high == pendingLastHigh + 1)
                {
                    pendingLastHigh = high;
                    continue;
                }
                Flush();
                if (lows is not null)
                {
                    pendingLows = lows;
                    pendingFirstHigh = pendingLastHigh = high;
                }
            }
            Flush();
            return string.Join('|', alternatives);

            void Flush()
            {
                if (pendingLows is null)
                    return;
                string highs = pendingFirstHigh == pendingLastHigh
                    ? Escape(pendingFirstHigh)
                    : $"[{Escape(pendingFirstHigh)}-{Escape(pendingLastHigh)}]";
                alternatives.Add(highs + pendingLows);
                pendingLows = null;
            }
        }

        private string? LowRangesFor(int high)
        {
            var ranges = new StringBuilder();
            int baseIndex = (high - 0xD800) * 0x400; // index of (high, 0xDC00) in the bitmap
            int low = 0;
            while (low < 0x400)
            {
                if (!_bits[baseIndex + low])
                {
                    low++;
                    continue;
                }
                int start = low;
                while (low < 0x400 && _bits[baseIndex + low])
                    low++;
                ranges.Append(Escape(0xDC00 + start));
                if (low - 1 > start)
                    ranges.Append('-').Append(Escape(0xDC00 + low - 1));
            }
            return ranges.Length == 0 ? null : $"[{ranges}]";
        }

        private static string Escape(int unit) => $"\\u{unit:X4}";
    }
}
