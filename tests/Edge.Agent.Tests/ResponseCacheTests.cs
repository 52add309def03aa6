using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Edge.Agent.Caching;
using Edge.Runtime.Inference;

namespace Edge.Agent.Tests;

/// <summary>The offline response cache: deterministic requests only, survives restarts, bounded, dropped with the model version.</summary>
[TestClass]
public sealed class ResponseCacheTests
{
    private static async Task<(string Text, string Cache)> AskAsync(LiveDaemon daemon, string body)
    {
        using var response = await daemon.Client.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.IsTrue(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!, response.Headers.GetValues("X-DeepSeekEdge-Cache").Single());
    }

    [TestMethod]
    public async Task DeterministicAnswersComeFromTheCacheAlsoAfterARestart()
    {
        const string greedy = """{"prompt":"Cache me","max_tokens":8,"ignore_eos":true}""";
        const string seeded = """{"prompt":"Cache me","max_tokens":8,"ignore_eos":true,"temperature":0.9,"seed":4}""";
        const string random = """{"prompt":"Cache me","max_tokens":8,"ignore_eos":true,"temperature":0.9}""";
        string state;
        string first;
        await using (var daemon = await LiveDaemon.StartAsync())
        {
            state = daemon.StateDirectory;
            (first, string cache) = await AskAsync(daemon, greedy);
            Assert.AreEqual("miss", cache);
            Assert.AreEqual((first, "hit"), await AskAsync(daemon, greedy));
            Assert.AreEqual("miss", (await AskAsync(daemon, seeded)).Cache);
            Assert.AreEqual("hit", (await AskAsync(daemon, seeded)).Cache);
            Assert.AreEqual("bypass", (await AskAsync(daemon, random)).Cache);
            Assert.AreEqual("miss", (await AskAsync(daemon, """{"prompt":"Cache me","max_tokens":9,"ignore_eos":true}""")).Cache, "another setting is another question");
            StringAssert.Contains(await daemon.Client.GetStringAsync("/metrics"), "dsedge_cache_lookups_total{result=\"hit\"} 2");
        }
        await using (var restarted = await LiveDaemon.StartWithStateAsync(state))
            Assert.AreEqual((first, "hit"), await AskAsync(restarted, greedy));
    }

    [TestMethod]
    public void EvictsLeastRecentlyUsedAndDropsOtherModelVersions()
    {
        string state = Directory.CreateTempSubdirectory("cache").FullName;
        var settings = new GenerationSettings();
        using (var cache = new ResponseCache(state, "1.0", maxBytes: 3 * (1000 + 64)))
        {
            string Key(int i) => cache.Key("completions", [i], settings);
            var answer = new CachedAnswer(new string('x', 1000), FinishReason.Length, 1, 16);
            cache.Store(Key(1), answer);
            cache.Store(Key(2), answer);
            cache.Store(Key(3), answer);
            Assert.IsNotNull(cache.Find(Key(1)), "touching 1 makes 2 the least recently used");
            cache.Store(Key(4), answer);
            Assert.AreEqual(3L, cache.Count);
            Assert.IsNull(cache.Find(Key(2)));
            Assert.IsNotNull(cache.Find(Key(1)));
            Assert.IsNotNull(cache.Find(Key(4)));
        }
        using (var sameVersion = new ResponseCache(state, "1.0", maxBytes: 1 << 20))
            Assert.AreEqual(3L, sameVersion.Count, "the cache survives a restart");
        using (var newModel = new ResponseCache(state, "2.0", maxBytes: 1 << 20))
            Assert.AreEqual(0L, newModel.Count, "a replaced model's answers are dropped");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(state, recursive: true);
    }
}
