using Edge.Agent.Core;

namespace Edge.Agent.Tests.Reasoning;

[TestClass]
public sealed class ReasoningSplitterTests
{
    private static (string Reasoning, string Content) Split(bool startsInside, params string[] deltas)
    {
        var splitter = new ReasoningSplitter(startsInside);
        string reasoning = "", content = "";
        foreach (string delta in deltas)
        {
            var (r, c) = splitter.Feed(delta);
            reasoning += r;
            content += c;
        }
        var (fr, fc) = splitter.Flush();
        return (reasoning + fr, content + fc);
    }

    [TestMethod]
    public void AnR1AnswerSplitsAtTheClosingTag() =>
        Assert.AreEqual(("Check the sensor.\n", "It reads 12."), Split(true, "Check the sensor.\n</think>\n\nIt reads 12."));

    [TestMethod]
    public void TagsCutAcrossDeltasStillSplit()
    {
        Assert.AreEqual(("ab", "cd"), Split(true, "a", "b<", "/th", "ink", ">", "\n\ncd"));
        Assert.AreEqual(("x", "y"), Split(false, "<th", "ink>x</thi", "nk>y"));
    }

    [TestMethod]
    public void AModelThatOpensItsOwnThinkBlockIsSplitToo() =>
        Assert.AreEqual(("plan", "done"), Split(false, "  <think>plan</think>\n\ndone"));

    [TestMethod]
    public void PlainAnswersAreLeftAlone()
    {
        Assert.AreEqual(("", "\n\nHello <b>there</b> </think>"), Split(false, "\n\nHello <b>there</b> </think>"));
        Assert.AreEqual(("", "<thin"), Split(false, "<thin"), "an unfinished tag at the end is text");
        Assert.AreEqual(("", "<this is text"), Split(false, "<th", "is is text"));
    }

    [TestMethod]
    public void ThinkingThatNeverClosesIsAllReasoning() =>
        Assert.AreEqual(("still thinking </thi", ""), Split(true, "still thinking </thi"));

    [TestMethod]
    [DataRow("<｜User｜>Hi<｜Assistant｜><think>\n", true)]
    [DataRow("<｜User｜>Hi<｜Assistant｜><think>", true)]
    [DataRow("<｜User｜>Hi<｜Assistant｜>", false)]
    [DataRow("<think>a</think>b<｜Assistant｜>", false)]
    [DataRow("<think>\nHi", false)]
    public void ThePromptSaysWhetherTheAnswerStartsThinking(string tail, bool expected) =>
        Assert.AreEqual(expected, ReasoningSplitter.PromptOpensThinking(tail));
}
