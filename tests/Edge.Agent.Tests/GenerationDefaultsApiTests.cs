using System.Text;
using System.Text.Json;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>
/// A model whose generation_config.json samples (as DeepSeek-R1's distills do) is served with
/// those defaults for every parameter a request leaves out, and /v1/models shows them.
/// </summary>
[TestClass]
public sealed class GenerationDefaultsApiTests
{
    [TestMethod]
    public async Task TheModelsSamplingDefaultsApplyWhereTheRequestIsSilent()
    {
        string package = Directory.CreateTempSubdirectory("dsedge-sampling-model-").FullName;
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.DefaultModel))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(package, GenerationDefaults.FileName), """{"bos_token_id":0,"eos_token_id":1,"do_sample":true,"temperature":0.6,"top_p":0.95}""");
        var manifest = ModelPackage.Open(RepositoryPaths.DefaultModel).Manifest;
        ModelPackage.WriteManifest(package, files => manifest with { Files = files });

        await using var daemon = await LiveDaemon.StartWithModelAsync(package);
        using var models = JsonDocument.Parse(await daemon.Client.GetStringAsync("/v1/models"));
        var defaults = models.RootElement.GetProperty("data")[0].GetProperty("generation_defaults");
        Assert.AreEqual(0.6, defaults.GetProperty("temperature").GetDouble(), 1e-6);
        Assert.AreEqual(0.95, defaults.GetProperty("top_p").GetDouble(), 1e-6);
        Assert.AreEqual(50, defaults.GetProperty("top_k").GetInt32());

        // Sampled without a seed is not deterministic, so the response cache stays out of it;
        // "temperature": 0 asks for greedy and is cached.
        Assert.AreEqual("bypass", await CacheStatus(daemon, """{"prompt":"Pump 3 is","max_tokens":4}"""));
        Assert.AreEqual("miss", await CacheStatus(daemon, """{"prompt":"Pump 3 is","max_tokens":4,"temperature":0}"""));
        Assert.AreEqual("hit", await CacheStatus(daemon, """{"prompt":"Pump 3 is","max_tokens":4,"temperature":0}"""));
        Directory.Delete(package, recursive: true);
    }

    [TestMethod]
    public async Task TheDefaultModelIsGreedy()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        using var models = JsonDocument.Parse(await daemon.Client.GetStringAsync("/v1/models"));
        Assert.AreEqual(0.0, models.RootElement.GetProperty("data")[0].GetProperty("generation_defaults").GetProperty("temperature").GetDouble());
        Assert.AreEqual("miss", await CacheStatus(daemon, """{"prompt":"Valve 9","max_tokens":3}"""));
    }

    private static async Task<string> CacheStatus(LiveDaemon daemon, string body)
    {
        using var response = await daemon.Client.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.IsTrue(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return response.Headers.GetValues("X-DeepSeekEdge-Cache").Single();
    }
}
