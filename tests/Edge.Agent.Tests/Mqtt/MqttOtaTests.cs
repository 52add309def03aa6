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

    /// <summary>
    /// QoS 1 may deliver a command twice: a copy of a running command (same id) is dropped, not
    /// refused as busy, and a copy of a finished one gets its outcome again without a second install.
    /// </summary>
    [TestMethod]
    public async Task ACopyOfACommandIsNeitherRunTwiceNorRefused()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-mqtt-ota-copy").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        await using var server = new BundleServer(TestBundles.Make(folder, signer, "0.8.0"), delay: TimeSpan.FromSeconds(1));
        await using var setup = await MqttSetup.StartAsync(daemonConfiguration: [$"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        string command = $$"""{"url":"{{server.Url}}","id":"rollout-7"}""";
        await setup.Equipment.PublishAsync($"{setup.Root}/ota", command);
        await setup.Equipment.PublishAsync($"{setup.Root}/ota", command);
        var installed = (await setup.Equipment.WaitForAsync(m => m.Topic == $"{setup.Root}/ota/status" && m.Payload.Contains("installed", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Json;
        Assert.AreEqual("rollout-7", installed.GetProperty("command").GetString());
        await Task.Delay(TimeSpan.FromSeconds(1)); // the command's run ends just after its outcome goes out
        await setup.Equipment.PublishAsync($"{setup.Root}/ota", command);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var outcomes = setup.Equipment.Received.Where(m => m.Topic == $"{setup.Root}/ota/status").Select(m => m.Json.GetProperty("status").GetString()).ToList();
        CollectionAssert.DoesNotContain(outcomes, "refused", string.Join(", ", outcomes));
        Assert.AreEqual(2, outcomes.Count(o => o == "installed"), "the finished command's outcome again, for its copy");
        Assert.AreEqual(1, server.Ranges.Count, "one download, one install");
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
