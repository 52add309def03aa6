using System.Net;
using System.Text.Json;
using Edge.Agent.Ota;

namespace Edge.Agent.Tests.Ota;

/// <summary>
/// Started without --model (as the packaged unit starts it), the daemon seeds its store with the
/// packaged model, serves from the store, and keeps an update across restarts; signed versions
/// that cannot name a folder are refused and never reach the file system.
/// </summary>
[TestClass]
public sealed class StoreSeedTests
{
    [TestMethod]
    public async Task TheFirstStartSeedsTheStoreAndAnUpdateSurvivesARestart()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-seed").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        string state = Path.Combine(folder, "state");
        string[] configuration = [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}", "--Ota:ProbationSeconds=3600"];
        using (var first = await DaemonProcess.StartAsync(state, model: null, configuration))
        {
            Assert.AreEqual("0.1.0", await UpdateRequests.VersionAsync(first.Client));
            var store = new ModelStore(state);
            Assert.AreEqual("0.1.0", Path.GetFileName(store.Current), "the packaged model was installed into the store");
            using var installed = await UpdateRequests.UploadAsync(first.Admin, TestBundles.Make(folder, signer, "0.2.0"));
            Assert.AreEqual(HttpStatusCode.OK, installed.StatusCode, await installed.Content.ReadAsStringAsync());
        }
        using (var second = await DaemonProcess.StartAsync(state, model: null, configuration))
        {
            Assert.AreEqual("0.2.0", await UpdateRequests.VersionAsync(second.Client), "the update survived the restart");
            using var again = await UpdateRequests.UploadAsync(second.Admin, TestBundles.Make(folder, signer, "0.3.0"));
            Assert.AreEqual(HttpStatusCode.OK, again.StatusCode, await again.Content.ReadAsStringAsync());
        }
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    [DataRow("x.new")]
    [DataRow("0.2.0.staging")]
    [DataRow("current")]
    [DataRow("previous")]
    [DataRow("../0.9")]
    [DataRow(".hidden")]
    [DataRow("0.2..0")]
    [DataRow("v 2")]
    [DataRow("版本2")]
    [DataRow("0.2.0\n")]
    public async Task ASignedVersionThatCannotNameAFolderIsRefusedAndTheDaemonRestartsFine(string version)
    {
        Assert.IsNotNull(ModelStore.VersionProblem(version));
        string folder = Directory.CreateTempSubdirectory("dsedge-version").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        string state = Path.Combine(folder, "state");
        await using (var daemon = await LiveDaemon.StartWithStateAsync(state, [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}"]))
        {
            using var refused = await UpdateRequests.UploadAsync(daemon.Admin, TestBundles.Make(folder, signer, version));
            Assert.AreEqual(HttpStatusCode.BadRequest, refused.StatusCode);
            StringAssert.Contains(JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString(), "not a safe version");
        }
        Assert.IsFalse(Directory.Exists(Path.Combine(state, "models")) && Directory.EnumerateFileSystemEntries(Path.Combine(state, "models")).Any(e => !e.EndsWith("ota.json", StringComparison.Ordinal)),
            "nothing of the bundle reached the store");
        await using (var restarted = await LiveDaemon.StartWithStateAsync(state))
            Assert.AreEqual(HttpStatusCode.OK, (await restarted.Client.GetAsync("/readyz")).StatusCode);
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    [DataRow("0.1.0")]
    [DataRow("2026.12.02-rc1")]
    [DataRow("1.0.0+build.7")]
    [DataRow("edge_v2")]
    public void OrdinaryVersionsAreSafe(string version) => Assert.IsNull(ModelStore.VersionProblem(version));

    [TestMethod]
    [DataRow("a/b")]
    [DataRow("")]
    [DataRow("a\\b")]
    [DataRow("0.1.0.NEW")]
    [DataRow("-rf")]
    public void PathLikeVersionsAreUnsafe(string version) => Assert.IsNotNull(ModelStore.VersionProblem(version));
}
