using System.Net;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests;

/// <summary>A full queue answers 503 with Retry-After in OpenAI's error shape; accepted requests all complete.</summary>
[TestClass]
public sealed class OverloadTests
{
    [TestMethod]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Scheduler:MaxBatchSize=1", "--Scheduler:MaxQueue=1", "--Scheduler:MaxWaitMs=0");
        var requests = Enumerable.Range(0, 8).Select(i => daemon.Client.PostAsync("/v1/completions",
            new StringContent($$"""{"prompt":"Request {{i}}","max_tokens":150,"ignore_eos":true}""", Encoding.UTF8, "application/json"))).ToList();
        var responses = await Task.WhenAll(requests);
        var overloaded = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        var served = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.IsNotEmpty(overloaded, "with one slot and a queue of one, some of 8 simultaneous requests must be refused");
        Assert.AreEqual(responses.Length, overloaded.Count + served.Count);
        foreach (var response in overloaded)
        {
            Assert.AreEqual("1", response.Headers.GetValues("Retry-After").Single());
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            StringAssert.Contains(json.RootElement.GetProperty("error").GetProperty("message").GetString(), "at capacity");
        }
        foreach (var response in served)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.AreEqual(150, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
        foreach (var response in responses)
            response.Dispose();
    }
}
