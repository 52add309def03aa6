using Edge.Runtime.Tokenization;

namespace Edge.Runtime.Tests.Tokenization;

[TestClass]
public sealed class UnicodeRegexTests
{
    [TestMethod]
    public void CategoryClassesMatchWholeAstralCodePoints()
    {
        var symbols = UnicodeRegex.Create(@" ?[\p{P}\p{S}]+");
        Assert.AreEqual(" 😀🚀!", symbols.Match("a 😀🚀!b").Value);
        var letters = UnicodeRegex.Create(@"\p{L}+");
        Assert.AreEqual("𝕳𝖊𝖑𝖑𝖔", letters.Match("𝕳𝖊𝖑𝖑𝖔 1").Value);
        Assert.AreEqual("𠀀𠀁", letters.Match("1𠀀𠀁").Value);
    }

    [TestMethod]
    public void NegatedClassesNeverSplitASurrogatePair()
    {
        var notLetters = UnicodeRegex.Create(@"[^\p{L}]+");
        Assert.AreEqual("😀 ", notLetters.Match("😀 a").Value);
        Assert.IsFalse(notLetters.IsMatch("𝕳"), "𝕳 is a letter; half of it must not match");
    }

    [TestMethod]
    public void LeavesPatternsWithoutCategoriesAlone() =>
        Assert.AreEqual(@"'s|\s+(?!\S)|[a-z]+", UnicodeRegex.Translate(@"'s|\s+(?!\S)|[a-z]+"));
}
