using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// The daemon on a really full file system: it starts and serves with the cache off, a cache
/// write that fails never costs an answer, an upload the disk refuses leaves nothing behind,
/// the audit log drops and counts instead of failing requests, and what it creates is its own.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class DiskFullTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string> CompleteAsync(LiveDaemon daemon, string prompt, int maxTokens = 24)
    {
        using var response = await daemon.Client.PostAsync("/v1/completions", Json($$"""{"prompt":"{{prompt}}","max_tokens":{{maxTokens}},"ignore_eos":true}"""));
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    [TestMethod]
    public async Task StartsOnAFullDiskAndServesWithTheCacheOff()
    {
        using var disk = SmallDisk.Mount(512);
        string state = Path.Combine(disk.Path, "state");
        Directory.CreateDirectory(state);
        disk.Fill();
        await using var daemon = await LiveDaemon.StartWithStateAsync(state, [.. TestKeys.AdminArguments, "--Auth:AllowAnonymousLoopback=true"]);
        Assert.IsTrue(daemon.LoggedProblems.Any(p => p.Contains("response cache cannot be opened", StringComparison.Ordinal)), string.Join("\n", daemon.LoggedProblems));
        Assert.AreEqual(HttpStatusCode.OK, (await daemon.Client.GetAsync("/readyz")).StatusCode);
        Assert.IsFalse(string.IsNullOrEmpty(await CompleteAsync(daemon, "Hello")));

        // Audited failures on a full disk: refused as usual, the lost lines counted.
        using (var bad = new HttpRequestMessage(HttpMethod.Get, "/v1/admin/update"))
        {
            bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "dse_wrong");
            Assert.AreEqual(HttpStatusCode.Unauthorized, (await daemon.Client.SendAsync(bad)).StatusCode);
        }
        Assert.IsGreaterThanOrEqualTo(1.0, await new MetricsReader(daemon.Client).ValueAsync("dsedge_audit_dropped_lines_total"));

        // An upload the disk cannot hold: refused, nothing left in downloads, the model serves on.
        using var upload = new ByteArrayContent(new byte[256 * 1024]);
        upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var refused = await daemon.Admin.PostAsync("/v1/admin/update", upload);
        Assert.AreEqual(HttpStatusCode.InsufficientStorage, refused.StatusCode, await refused.Content.ReadAsStringAsync());
        string downloads = Path.Combine(state, "downloads");
        Assert.IsFalse(Directory.Exists(downloads) && Directory.EnumerateFileSystemEntries(downloads).Any(), "the refused upload was removed");
        Assert.IsFalse(string.IsNullOrEmpty(await CompleteAsync(daemon, "Hello")));
    }

    [TestMethod]
    public async Task ADownloadTheDiskCannotHoldIsRefusedAndLeavesNoPartialFile()
    {
        using var disk = SmallDisk.Mount(512);
        string state = Path.Combine(disk.Path, "state");
        string keys = Directory.CreateTempSubdirectory("dsedge-full-download").FullName;
        var (signer, publicKey) = Ota.TestBundles.SigningKey(keys);
        using var _ = signer;
        await using var server = new Ota.BundleServer(Ota.TestBundles.Make(keys, signer, "0.2.0"));
        await using var daemon = await LiveDaemon.StartWithStateAsync(state, [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        disk.Fill();
        using var refused = await daemon.Admin.PostAsync("/v1/admin/update", Json($$"""{"url":"{{server.Url}}"}"""));
        string body = await refused.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.InsufficientStorage, refused.StatusCode, body);
        StringAssert.Contains(body, "disk is full");
        string downloads = Path.Combine(state, "downloads");
        Assert.IsFalse(Directory.Exists(downloads) && Directory.EnumerateFileSystemEntries(downloads).Any(), "no partial download is left on the full disk");
        Assert.IsFalse(string.IsNullOrEmpty(await CompleteAsync(daemon, "Hello")));
        Directory.Delete(keys, recursive: true);
    }

    [TestMethod]
    public async Task ACacheWriteThatFailsNeverCostsAnAnswer()
    {
        using var disk = SmallDisk.Mount(1024);
        string state = Path.Combine(disk.Path, "state");
        await using var daemon = await LiveDaemon.StartWithStateAsync(state);
        string expected = await CompleteAsync(daemon, "Before the disk filled");
        disk.Fill();
        // Each answer a few hundred bytes: the cache's file must grow, and the disk refuses.
        for (int i = 0; i < 30; i++)
            Assert.IsFalse(string.IsNullOrEmpty(await CompleteAsync(daemon, $"Question number {i} about pump {i * 7}", maxTokens: 96)));
        Assert.IsGreaterThanOrEqualTo(1.0, await new MetricsReader(daemon.Client).ValueAsync("dsedge_cache_failures_total{operation=\"write\"}"), "the disk refused at least one cache write");
        Assert.AreEqual(expected, await CompleteAsync(daemon, "Before the disk filled"), "a cached answer still reads back");
        disk.Free();
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task FilesTheDaemonCreatesAreItsOwnWhateverTheUmask()
    {
        Edge.Runtime.Storage.FileCreationMask.Set(0); // the most permissive a parent could hand over
        string state = Path.Combine(Path.GetTempPath(), $"dsedge-modes-{Guid.NewGuid():N}");
        await using (var daemon = await LiveDaemon.StartWithStateAsync(state))
        {
            await CompleteAsync(daemon, "Hello"); // the cache writes
            using var bad = new HttpRequestMessage(HttpMethod.Get, "/v1/admin/update");
            await daemon.Client.SendAsync(bad); // the audit log writes
        }
        var entries = Directory.EnumerateFileSystemEntries(state, "*", SearchOption.AllDirectories).ToList();
        Assert.IsTrue(entries.Any(e => e.EndsWith(".jsonl", StringComparison.Ordinal)) && entries.Any(e => e.EndsWith("cache.db", StringComparison.Ordinal)),
            string.Join(", ", entries));
        foreach (string entry in entries)
        {
            var mode = File.GetUnixFileMode(entry);
            Assert.AreEqual((UnixFileMode)0, mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute), $"{entry}: {mode}");
        }
        Directory.Delete(state, recursive: true);
    }
}
