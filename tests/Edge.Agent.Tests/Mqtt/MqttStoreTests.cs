using System.Text;
using Edge.Agent.Mqtt;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>The durable inbox, outbox and remembered answers, on a real SQLite file.</summary>
[TestClass]
public sealed class MqttStoreTests
{
    private string _folder = null!;

    [TestInitialize]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("dsedge-mqtt-store").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private MqttStore Open(int maxMessages = 100, long maxBytes = 1 << 20, int remembered = 100) => new(_folder, maxMessages, maxBytes, remembered);

    private static MqttInboxItem Request(string id) => new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""), null, null);

    private static MqttOutgoing Answer(string text, int size = 10) => new("t/" + text, Encoding.UTF8.GetBytes(text.PadRight(size)), [7]);

    [TestMethod]
    public void IdsAreScopedByResponseTopicAndSurviveAReopen()
    {
        var fromPress1 = new MqttInboxItem("1", Encoding.UTF8.GetBytes("{\"id\":\"1\"}"), "replies/press-1", null);
        var fromPress2 = fromPress1 with { ResponseTopic = "replies/press-2/x" };
        using (var store = Open())
        {
            Assert.AreEqual(MqttReceipt.Accepted, store.Receive(fromPress1));
            Assert.AreEqual(MqttReceipt.Accepted, store.Receive(fromPress2), "the same id from another requester is another request");
            Assert.AreEqual(MqttReceipt.Accepted, store.Receive(Request("1")));
        }
        using (var reopened = Open())
        {
            var pending = reopened.PendingRequests();
            CollectionAssert.AreEqual(new[] { "1", "1", "1" }, pending.Select(p => p.RequestId).ToArray(), "the ids come back without their scope");
            CollectionAssert.AreEqual(new[] { "replies/press-1", "replies/press-2/x", null }, pending.Select(p => p.ResponseTopic).ToArray());
            reopened.Answer(pending[1].Key, Answer("two"));
            Assert.AreEqual(MqttReceipt.AnsweredBefore, reopened.Receive(fromPress2));
            Assert.AreEqual(MqttReceipt.InProgress, reopened.Receive(fromPress1));
        }
    }

    [TestMethod]
    public void ARequestIsTakenOnceAndItsAnswerIsGivenAgainWhenItComesBack()
    {
        using var store = Open();
        Assert.AreEqual(MqttReceipt.Accepted, store.Receive(Request("a")));
        Assert.AreEqual(MqttReceipt.InProgress, store.Receive(Request("a")));
        store.Answer("a", Answer("first"));
        Assert.AreEqual(0, store.InboxCount);
        Assert.AreEqual(MqttReceipt.AnsweredBefore, store.Receive(Request("a")));
        var outbox = store.PeekOutbox(10);
        Assert.HasCount(2, outbox);
        Assert.AreEqual(outbox[0].Message.Topic, outbox[1].Message.Topic);
        CollectionAssert.AreEqual(outbox[0].Message.Payload, outbox[1].Message.Payload);
        CollectionAssert.AreEqual(new byte[] { 7 }, outbox[1].Message.CorrelationData);
    }

    [TestMethod]
    public void InboxAndOutboxSurviveReopeningInOrder()
    {
        using (var store = Open())
        {
            store.Receive(Request("x"));
            store.Receive(Request("y"));
            store.Answer("x", Answer("one"));
            store.Answer(null, Answer("two"));
        }
        using var reopened = Open();
        Assert.AreEqual("y", reopened.PendingRequests().Single().RequestId);
        var outbox = reopened.PeekOutbox(10);
        CollectionAssert.AreEqual(new[] { "t/one", "t/two" }, outbox.Select(e => e.Message.Topic).ToList());
        reopened.Delivered(outbox[0].Sequence);
        Assert.AreEqual("t/two", reopened.PeekOutbox(10).Single().Message.Topic);
    }

    [TestMethod]
    public void AFullOutboxDropsTheOldestByCountAndByBytes()
    {
        using var store = Open(maxMessages: 3, maxBytes: 1000);
        int dropped = 0;
        store.Dropped += n => dropped += n;
        for (int i = 0; i < 5; i++)
            store.Answer(null, Answer($"m{i}"));
        CollectionAssert.AreEqual(new[] { "t/m2", "t/m3", "t/m4" }, store.PeekOutbox(10).Select(e => e.Message.Topic).ToList());
        Assert.AreEqual(2, dropped);

        store.Answer(null, Answer("big", size: 980));
        Assert.AreEqual("t/big", store.PeekOutbox(10).Single().Message.Topic, "the older entries no longer fit beside it");
        Assert.AreEqual(5, dropped);
        Assert.IsLessThanOrEqualTo(1000, store.OutboxSize.Bytes);
    }

    [TestMethod]
    public void OnlyTheMostRecentAnswersAreRemembered()
    {
        using var store = Open(remembered: 2);
        foreach (string id in new[] { "a", "b", "c" })
        {
            store.Receive(Request(id));
            store.Answer(id, Answer(id));
        }
        Assert.AreEqual(MqttReceipt.Accepted, store.Receive(Request("a")), "the oldest answer was forgotten");
        Assert.AreEqual(MqttReceipt.AnsweredBefore, store.Receive(Request("c")));
    }
}

/// <summary>The reconnect delays: growing, capped, jittered.</summary>
[TestClass]
public sealed class ReconnectBackoffTests
{
    [TestMethod]
    public void GrowsFromTheMinimumAndNeverPassesTheCap()
    {
        var random = new Random(1);
        var minimum = TimeSpan.FromMilliseconds(100);
        var maximum = TimeSpan.FromSeconds(5);
        for (int attempt = 0; attempt < 40; attempt++)
        {
            double ceiling = Math.Min(100 * Math.Pow(2, attempt), 5000);
            var delay = ReconnectBackoff.Delay(attempt, minimum, maximum, random);
            Assert.IsGreaterThanOrEqualTo(ceiling / 2, delay.TotalMilliseconds);
            Assert.IsLessThanOrEqualTo(ceiling, delay.TotalMilliseconds);
        }
        var spread = Enumerable.Range(0, 50).Select(_ => ReconnectBackoff.Delay(10, minimum, maximum, random)).Distinct().Count();
        Assert.IsGreaterThan(40, spread, "jitter spreads reconnects");
    }
}
