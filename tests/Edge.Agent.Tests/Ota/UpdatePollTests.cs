using Edge.Agent.Configuration;
using Edge.Agent.Ota;
using Microsoft.Extensions.Configuration;

namespace Edge.Agent.Tests.Ota;

/// <summary>Ota:PollUrl: the daemon reads the head of the bundle there and installs only a newer version.</summary>
[TestClass]
public sealed class UpdatePollTests
{
    [TestMethod]
    public async Task APolledNewerBundleIsInstalledOnceAndLaterPollsReadOnlyItsHead()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-poll").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        await using var server = new BundleServer(TestBundles.Make(folder, signer, "0.3.0"));
        await using var daemon = await LiveDaemon.StartAsync($"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1", $"--Ota:PollUrl={server.Url}", "--Ota:PollIntervalSeconds=1");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await UpdateRequests.VersionAsync(daemon.Client) != "0.3.0")
        {
            Assert.IsLessThan(deadline, DateTime.UtcNow, $"not installed; requests: {string.Join(", ", server.Ranges)}");
            await Task.Delay(200);
        }
        int seen = server.Ranges.Count;
        while (server.Ranges.Count < seen + 2) // two more polls after the install
            await Task.Delay(200);

        var ranges = server.Ranges.ToList();
        Assert.AreEqual("bytes=0-65535", ranges[0], "a poll reads the head first");
        Assert.AreEqual(1, ranges.Count(r => r == "none"), $"one full download: {string.Join(", ", ranges)}");
        Assert.IsTrue(ranges.Skip(seen).All(r => r == "bytes=0-65535"), $"an installed version is not fetched again: {string.Join(", ", ranges)}");
        StringAssert.Contains(string.Concat(Directory.GetFiles(Path.Combine(daemon.StateDirectory, "audit")).Select(File.ReadAllText)), "\"who\":\"poll\"");
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    [DataRow("ftp://updates.example/model.edgepkg")]
    [DataRow("not a url")]
    [DataRow("/relative/model.edgepkg")]
    public void APollUrlThatIsNotHttpStopsStartUpNamingTheKey(string url)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ota:PollUrl"] = url }).Build();
        var error = Assert.ThrowsExactly<ConfigurationException>(() => PollSettings.Read(configuration));
        Assert.AreEqual("Ota:PollUrl", error.Key);
    }

    [TestMethod]
    public void ProbationSettingsRefuseNonsense()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ota:ProbationSeconds"] = "0" }).Build();
        Assert.AreEqual("Ota:ProbationSeconds", Assert.ThrowsExactly<ConfigurationException>(() => ProbationSettings.Read(configuration)).Key);
    }
}
