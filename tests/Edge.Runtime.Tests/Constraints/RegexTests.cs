using Edge.Runtime.Constraints.Grammars;
using static Edge.Runtime.Tests.Constraints.GrammarAssert;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>guided_regex: the regex subset as a byte automaton, checked against .NET's own regex engine.</summary>
[TestClass]
public sealed class RegexTests
{
    [TestMethod]
    [DataRow(@"V-[0-9]{1,3}", new[] { "V-1", "V-123", "V-0" }, new[] { "V-", "V-1234", "v-1", "V-a" })]
    [DataRow(@"^(open|close|hold)$", new[] { "open", "close", "hold" }, new[] { "opens", "", "Open" })]
    [DataRow(@"\d+(\.\d+)?", new[] { "0", "12.5" }, new[] { "12.", ".5", "1e3" })]
    [DataRow(@"[A-Z][a-z]*\s\w+", new[] { "Press 4", "A b_9" }, new[] { "press 4", "P  4" })]
    [DataRow(@"[^,\n]+,[^,\n]+", new[] { "a,b", "é,温度" }, new[] { "a,b,c", ",b", "a\n,b" })]
    [DataRow(@"(?:ab){2,}c?", new[] { "abab", "abababc" }, new[] { "ab", "ababa" })]
    [DataRow(@"(?<unit>mm|cm)\.x{0}", new[] { "mm.", "cm." }, new[] { "m.", "mm" })]
    [DataRow(@"温度: [0-9]+°C|🚀", new[] { "温度: 21°C", "🚀" }, new[] { "温度: °C", "🚀🚀" })]
    [DataRow(@"[α-ω]{2}\x41\u00e9\.", new[] { "αωAé." }, new[] { "aωAé.", "αωAe." })]
    [DataRow(@"a{2}b{0,1}|\{x\}", new[] { "aa", "aab", "{x}" }, new[] { "a", "aabb", "{x" })]
    public void MatchesExactlyWhatDotNetsRegexMatchesWhole(string regex, string[] matching, string[] notMatching)
    {
        var dfa = Regex(regex);
        var reference = new System.Text.RegularExpressions.Regex($"^(?:{regex.TrimStart('^').TrimEnd('$')})$");
        foreach (string text in matching)
        {
            Assert.IsTrue(reference.IsMatch(text), $"the test's own example '{text}'");
            Assert.IsTrue(Matches(dfa, text), $"{regex} should match '{text}'");
        }
        foreach (string text in notMatching)
        {
            Assert.IsFalse(reference.IsMatch(text), $"the test's own example '{text}'");
            Assert.IsFalse(Matches(dfa, text), $"{regex} should not match '{text}'");
        }
    }

    [TestMethod]
    [DataRow(@"(a)\1", "backreference")]
    [DataRow(@"a(?=b)", "lookaround")]
    [DataRow(@"(?<!a)b", "lookaround")]
    [DataRow(@"\bword", "word boundary")]
    [DataRow(@"a++", "possessive")]
    [DataRow(@"(?i)abc", "inline flags")]
    [DataRow(@"a^b", "'^'")]
    [DataRow(@"(ab", "not closed")]
    [DataRow(@"ab)", "unmatched")]
    [DataRow(@"a{3,2}", "not a range")]
    [DataRow(@"a{99999}", "above")]
    [DataRow(@"[z-a]", "backwards")]
    [DataRow(@"\q", "\\q")]
    [DataRow(@"*a", "nothing to repeat")]
    [DataRow(@"[\u0100-\uFFFF]", "wider")]
    public void RefusesWhatItCannotEnforceNamingIt(string regex, string named)
    {
        var e = Assert.Throws<GrammarException>(() => Regex(regex));
        StringAssert.Contains(e.Message, named);
    }

    /// <summary>Growth that would be quadratic or worse (nested counts) is refused while it is built, within the state cap.</summary>
    [TestMethod]
    public void NestedCountsAreRefusedNotBuilt()
    {
        var e = Assert.Throws<GrammarException>(() => Regex("((a{1000}){1000}){1000}"));
        StringAssert.Contains(e.Message, "too large");
        Assert.Throws<GrammarException>(() => Regex(new string('(', 100) + "a" + new string(')', 100)));
        Assert.Throws<GrammarException>(() => Regex(new string('a', RegexParser.MaxLength + 1)));
    }

    /// <summary>The shortest ending from every prefix leads to a match, and is as short as the distance says.</summary>
    [TestMethod]
    public void TheShortestEndingFromAnyPrefixMatches()
    {
        var dfa = Regex(@"(ab|c)+-[0-9]{2,4}x?");
        const string text = "abcab-123";
        for (int length = 0; length <= text.Length; length++)
        {
            int state = dfa.Start;
            foreach (char c in text[..length])
                Assert.IsTrue(dfa.TryStep(state, (byte)c, out state));
            byte[] end = dfa.ShortestEnd(state);
            Assert.AreEqual(dfa.DistanceToEnd(state), end.Length);
            Assert.IsTrue(Matches(dfa, text[..length] + System.Text.Encoding.ASCII.GetString(end)));
        }
    }
}
