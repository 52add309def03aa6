using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Edge.Agent.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Agent.Tests.Ota;

/// <summary>After a swap the new version is on probation: failures roll it back, a quiet window commits it, a crash loop rolls it back at start.</summary>
[TestClass]
public sealed class ProbationTests
{
    private static string s_folder = null!;
    private static ECDsa s_signer = null!;
    private static string s_publicKey = null!;

    [ClassInitialize]
    public static void MakeKeys(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-probation").FullName;
        (s_signer, s_publicKey) = TestBundles.SigningKey(s_folder);
    }

    [ClassCleanup]
    public static void Clean()
    {
        s_signer.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    private static async Task<JsonElement> LastUpdateAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/v1/admin/update")).RootElement;

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    [TestMethod]
    public async Task AVersionWhoseGenerationsFailOnProbationIsRolledBackAndNotInstalledAgainUnforced()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Ota:ProbationSeconds=600"]);
        byte[] bundle = TestBundles.Make(s_folder, s_signer, "0.2.0");
        var installed = await UpdateRequests.UploadAsync(daemon.Admin, bundle);
        Assert.AreEqual(HttpStatusCode.OK, installed.StatusCode, await installed.Content.ReadAsStringAsync());
        Assert.AreEqual(1, await new MetricsReader(daemon.Client).ValueAsync("dsedge_ota_probation"));

        var model = daemon.Services.GetRequiredService<ModelSlot>().Current;
        Assert.AreEqual("0.2.0", model.Version);
        var answer = await daemon.Client.PostAsJsonAsync("/v1/completions", new { prompt = "On probation", max_tokens = 3, ignore_eos = true });
        Assert.AreEqual(HttpStatusCode.OK, answer.StatusCode);
        Assert.AreEqual(1, model.Health.Finished, "a finished generation is counted on the model that ran it");
        // No model here fails at run time after passing its smoke test, so the engine faults the
        // probation watches for are recorded on the model's health the way TextGenerator records them.
        for (int i = 0; i < 3; i++)
            model.Health.RecordFailed();

        // The swap back comes first, then the record: wait for the record.
        await WaitForAsync(async () => (await LastUpdateAsync(daemon.Admin)).GetProperty("status").GetString() == "rolled-back", "the rollback");
        Assert.AreEqual("0.1.0", await UpdateRequests.VersionAsync(daemon.Client));
        var last = await LastUpdateAsync(daemon.Admin);
        StringAssert.Contains(last.GetProperty("reason").GetString(), "3 of its 4 generations failed");
        Assert.IsFalse(Directory.Exists(Path.Combine(daemon.StateDirectory, "models", "0.2.0")), "the failed version is removed");
        Assert.AreEqual(1, await new MetricsReader(daemon.Client).ValueAsync("dsedge_ota_updates_total{outcome=\"rolled-back\"}"));
        Assert.AreEqual(0, await new MetricsReader(daemon.Client).ValueAsync("dsedge_ota_probation"));
        StringAssert.Contains(string.Concat(Directory.GetFiles(Path.Combine(daemon.StateDirectory, "audit")).Select(File.ReadAllText)), "rolled-back");

        var again = await UpdateRequests.UploadAsync(daemon.Admin, bundle);
        Assert.AreEqual(HttpStatusCode.BadRequest, again.StatusCode);
        StringAssert.Contains(await again.Content.ReadAsStringAsync(), "rolled back before");
        var forced = await UpdateRequests.UploadAsync(daemon.Admin, bundle, force: true);
        Assert.AreEqual(HttpStatusCode.OK, forced.StatusCode, await forced.Content.ReadAsStringAsync());
        Assert.AreEqual("0.2.0", await UpdateRequests.VersionAsync(daemon.Client));
    }

    [TestMethod]
    public async Task AVersionThatServesThroughItsWindowIsCommitted()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Ota:ProbationSeconds=1"]);
        var installed = await UpdateRequests.UploadAsync(daemon.Admin, TestBundles.Make(s_folder, s_signer, "0.2.0"));
        Assert.AreEqual(HttpStatusCode.OK, installed.StatusCode, await installed.Content.ReadAsStringAsync());
        await WaitForAsync(async () => (await LastUpdateAsync(daemon.Admin)).GetProperty("status").GetString() == "committed", "the commit");
        var metrics = new MetricsReader(daemon.Client);
        Assert.AreEqual(0, await metrics.ValueAsync("dsedge_ota_probation"));
        Assert.AreEqual(1, await metrics.ValueAsync("dsedge_ota_updates_total{outcome=\"installed\"}"));
        Assert.AreEqual(1, await metrics.ValueAsync("dsedge_ota_updates_total{outcome=\"committed\"}"));
        Assert.AreEqual("0.2.0", await UpdateRequests.VersionAsync(daemon.Client));
    }

    [TestMethod]
    public async Task ACrashLoopDuringProbationRollsBackAtStart()
    {
        string state = Path.Combine(s_folder, $"state-{Guid.NewGuid():N}");
        string[] configuration = [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Ota:ProbationSeconds=600", "--Ota:ProbationMaxRestarts=2"];
        var daemon = await DaemonProcess.StartAsync(state, model: null, configuration);
        try
        {
            var installed = await UpdateRequests.UploadAsync(daemon.Admin, TestBundles.Make(s_folder, s_signer, "0.2.0"));
            Assert.AreEqual(HttpStatusCode.OK, installed.StatusCode, await installed.Content.ReadAsStringAsync());
            // Two crashes are tolerated (a power cut is not the model's fault); the third start rolls back.
            foreach (string expected in new[] { "0.2.0", "0.2.0", "0.1.0" })
            {
                daemon.Kill();
                daemon.Dispose();
                daemon = await DaemonProcess.StartAsync(state, model: null, configuration);
                Assert.AreEqual(expected, await UpdateRequests.VersionAsync(daemon.Client));
            }
            var last = await LastUpdateAsync(daemon.Admin);
            Assert.AreEqual("rolled-back", last.GetProperty("status").GetString());
            StringAssert.Contains(last.GetProperty("reason").GetString(), "stopped uncleanly 3 times");
            Assert.IsFalse(Directory.Exists(Path.Combine(state, "models", "0.2.0")));
            Assert.IsTrue(daemon.Output.Any(line => line.Contains("Rolled version 0.2.0 back", StringComparison.Ordinal)), string.Join("\n", daemon.Output));
            var completion = await daemon.Client.PostAsJsonAsync("/v1/completions", new { prompt = "Back on the old model", max_tokens = 2, ignore_eos = true });
            Assert.AreEqual(HttpStatusCode.OK, completion.StatusCode);
        }
        finally
        {
            daemon.Dispose();
        }
    }
}
