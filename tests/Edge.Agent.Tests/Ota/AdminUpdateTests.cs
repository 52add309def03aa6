using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests.Ota;

/// <summary>POST /v1/admin/update on the live daemon: swaps under load without a failed request; every bad bundle refused with the old model serving.</summary>
[TestClass]
public sealed class AdminUpdateTests
{
    private static string s_folder = null!;
    private static ECDsa s_signer = null!;
    private static string s_publicKey = null!;

    [ClassInitialize]
    public static void MakeKeys(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-update").FullName;
        (s_signer, s_publicKey) = TestBundles.SigningKey(s_folder);
    }

    [ClassCleanup]
    public static void Clean()
    {
        s_signer.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    // Room for 8 streaming clients and the update under one (anonymous loopback) caller's concurrency limit.
    private static Task<LiveDaemon> StartAsync() => LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Limits:ConcurrentRequestsPerKey=16"]);

    private static async Task<(HttpStatusCode Status, string Body)> UpdateAsync(LiveDaemon daemon, byte[] bundle, bool force = false)
    {
        using var response = await UpdateRequests.UploadAsync(daemon.Admin, bundle, force);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task EightStreamingClientsSeeNoFailureWhileTheModelIsSwapped()
    {
        await using var daemon = await StartAsync();
        byte[] bundle = TestBundles.Make(s_folder, s_signer, "0.2.0");
        using var stop = new CancellationTokenSource();
        int completed = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var clients = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
                {
                    Content = new StringContent($$"""{"prompt":"Client {{i}} asks","max_tokens":24,"ignore_eos":true,"stream":true,"temperature":0.8}""", Encoding.UTF8, "application/json"),
                };
                using var response = await daemon.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                string body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || !body.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal))
                    failures.Enqueue($"{response.StatusCode}: {body[..Math.Min(200, body.Length)]}");
                else
                    Interlocked.Increment(ref completed);
            }
        })).ToList();

        await Task.Delay(1000);
        int before = Volatile.Read(ref completed);
        var (status, answer) = await UpdateAsync(daemon, bundle);
        Assert.AreEqual(HttpStatusCode.OK, status, answer);
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.IsGreaterThan(before, completed, "requests kept completing after the swap");
        Assert.AreEqual("0.2.0", await UpdateRequests.VersionAsync(daemon.Client));
        Assert.AreEqual("0.2.0", Path.GetFileName(new FileInfo(Path.Combine(daemon.StateDirectory, "models", "current")).LinkTarget));
        using var last = JsonDocument.Parse(await daemon.Admin.GetStringAsync("/v1/admin/update"));
        Assert.AreEqual("installed", last.RootElement.GetProperty("status").GetString());
        Assert.AreEqual("0.1.0", last.RootElement.GetProperty("previous_version").GetString());
        StringAssert.Contains(string.Concat(Directory.GetFiles(Path.Combine(daemon.StateDirectory, "audit")).Select(File.ReadAllText)), "installed");
    }

    [TestMethod]
    public async Task EveryBadBundleIsRefusedWithItsReasonAndTheOldModelKeepsAnswering()
    {
        await using var daemon = await StartAsync();
        byte[] tampered = TestBundles.Make(s_folder, s_signer, "0.3.0");
        tampered[^2000] ^= 0x01;
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var cases = new (byte[] Bundle, HttpStatusCode Status, string Reason)[]
        {
            (tampered, HttpStatusCode.BadRequest, "sha256"),
            (TestBundles.Make(s_folder, stranger, "0.3.0"), HttpStatusCode.BadRequest, "does not verify against any trusted key"),
            (TestBundles.Make(s_folder, s_signer, "0.0.5"), HttpStatusCode.BadRequest, "not newer"),
            (TestBundles.Make(s_folder, s_signer, "0.4.0", m => m["smoke_test"]!["expected_ids"]![0] = 7), HttpStatusCode.UnprocessableEntity, "smoke test"),
            (tampered[..(tampered.Length / 2)], HttpStatusCode.BadRequest, "truncated"),
            ([], HttpStatusCode.BadRequest, "empty"),
            ("not a bundle at all"u8.ToArray(), HttpStatusCode.BadRequest, "Update refused"),
        };
        foreach (var (bundle, expected, reason) in cases)
        {
            var (status, body) = await UpdateAsync(daemon, bundle);
            Assert.AreEqual(expected, status, body);
            StringAssert.Contains(body, reason);
            Assert.AreEqual("0.1.0", await UpdateRequests.VersionAsync(daemon.Client));
            var completion = await daemon.Client.PostAsJsonAsync("/v1/completions", new { prompt = "Still there?", max_tokens = 2, ignore_eos = true });
            Assert.AreEqual(HttpStatusCode.OK, completion.StatusCode);
        }
        string models = Path.Combine(daemon.StateDirectory, "models");
        Assert.IsFalse(Directory.Exists(models) && Directory.EnumerateDirectories(models).Any(), "nothing refused stays installed");

        var (forced, forcedBody) = await UpdateAsync(daemon, TestBundles.Make(s_folder, s_signer, "0.0.5"), force: true);
        Assert.AreEqual(HttpStatusCode.OK, forced, forcedBody);
        Assert.AreEqual("0.0.5", await UpdateRequests.VersionAsync(daemon.Client));
        Assert.IsEmpty(daemon.LoggedProblems.Where(p => p.StartsWith("Error", StringComparison.Ordinal)), string.Join("\n", daemon.LoggedProblems));
    }

    [TestMethod]
    public async Task WithoutTrustedKeysEveryUpdateIsRefused()
    {
        await using var daemon = await LiveDaemon.StartAsync(TestKeys.AdminArguments);
        var (status, body) = await UpdateAsync(daemon, TestBundles.Make(s_folder, s_signer, "0.2.0"));
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains(body, "No trusted keys");
    }
}

/// <summary>POST /v1/admin/update {"url": ...}: the daemon downloads the bundle, resuming after a dropped connection.</summary>
[TestClass]
public sealed class UpdateDownloadTests
{
    [TestMethod]
    public async Task ADownloadCutHalfWayResumesWithARangeRequestAndInstalls()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-download").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        byte[] bundle = TestBundles.Make(folder, signer, "0.5.0");

        await using var server = new BundleServer(bundle, dropFirstResponseHalfWay: true);
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        var missing = await daemon.Admin.PostAsync("/v1/admin/update", JsonContent.Create(new { url = server.Url.Replace("model.edgepkg", "nothing-here", StringComparison.Ordinal) }));
        Assert.AreEqual(HttpStatusCode.BadGateway, missing.StatusCode);
        var badUrl = await daemon.Admin.PostAsync("/v1/admin/update", JsonContent.Create(new { url = "ftp://example/model" }));
        Assert.AreEqual(HttpStatusCode.BadRequest, badUrl.StatusCode);

        var response = await daemon.Admin.PostAsync("/v1/admin/update", JsonContent.Create(new { url = server.Url }));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        Assert.AreEqual("0.5.0", JsonDocument.Parse(await daemon.Client.GetStringAsync("/readyz")).RootElement.GetProperty("version").GetString());
        var seen = server.Ranges.ToList();
        Assert.IsTrue(seen.Any(r => r.StartsWith("bytes=", StringComparison.Ordinal) && r != "bytes=0-"), $"no resume: {string.Join(", ", seen)}");
        Assert.IsFalse(Directory.EnumerateFiles(Path.Combine(daemon.StateDirectory, "downloads")).Any(), "the used download is deleted");
        Directory.Delete(folder, recursive: true);
    }
}
