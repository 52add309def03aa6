using System.Security.Cryptography;
using System.Text.Json;
using Edge.Agent.Tests.Ota;

namespace Edge.Agent.Tests.Mqtt;

/// <summary>Update commands on &lt;prefix&gt;/&lt;device&gt;/ota: every update's outcome on ota/status, the new version in the retained status.</summary>
[TestClass]
public sealed class MqttOtaTests
{
    [TestMethod]
    public async Task AnUpdateCommandInstallsTheBundleAndABadOneIsRefusedOnTheStatusTopic()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-mqtt-ota").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        await using var server = new BundleServer(TestBundles.Make(folder, signer, "0.7.0"));
        await using var setup = await MqttSetup.StartAsync(daemonConfiguration: [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);

        await setup.Equipment.PublishAsync($"{setup.Root}/ota", """{"url":"ftp://nowhere/model"}""");
        var refused = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status")).Json;
        Assert.AreEqual("refused", refused.GetProperty("status").GetString());
        StringAssert.Contains(refused.GetProperty("reason").GetString(), "http or https");

        await setup.Equipment.PublishAsync($"{setup.Root}/ota", $$"""{"url":"{{server.Url}}"}""");
        var installed = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status" && m.Payload.Contains("installed", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Json;
        Assert.AreEqual("0.7.0", installed.GetProperty("version").GetString());
        Assert.AreEqual("0.1.0", installed.GetProperty("previous_version").GetString());
        await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/status" && m.Payload.Contains("\"version\":\"0.7.0\"", StringComparison.Ordinal));

        await setup.RequestAsync("""{"id":"after-update","prompt":"Hello","max_tokens":2,"ignore_eos":true}""");
        Assert.AreEqual(2, (await setup.AnswerAsync("after-update")).Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Outcomes of updates from elsewhere (here the HTTP route) are published too.
        using var viaHttp = await UpdateRequests.UploadAsync(setup.Daemon.Admin, TestBundles.Make(folder, signer, "0.6.0"));
        var older = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status" && m.Payload.Contains("not newer", StringComparison.Ordinal))).Json;
        Assert.AreEqual("refused", older.GetProperty("status").GetString());
        Assert.AreEqual("0.7.0", older.GetProperty("previous_version").GetString());
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public async Task UpdateCommandsRunOneAtATime()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-mqtt-ota-one").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        await using var server = new BundleServer(TestBundles.Make(folder, signer, "0.8.0"), delay: TimeSpan.FromSeconds(2));
        await using var setup = await MqttSetup.StartAsync(daemonConfiguration: [$"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        await setup.Equipment.PublishAsync($"{setup.Root}/ota", $$"""{"url":"{{server.Url}}"}""");
        await setup.Equipment.PublishAsync($"{setup.Root}/ota", $$"""{"url":"{{server.Url}}"}""");
        var busy = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status" && m.Payload.Contains("refused", StringComparison.Ordinal))).Json;
        StringAssert.Contains(busy.GetProperty("reason").GetString(), "Another update command is running");
        var installed = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status" && m.Payload.Contains("installed", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Json;
        Assert.AreEqual("0.8.0", installed.GetProperty("version").GetString());
        Assert.AreEqual(1, server.Ranges.Count, "the second command downloaded nothing");
        Directory.Delete(folder, recursive: true);
    }
}
