using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Edge.Agent.Tests.Ota;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// Bundle URLs cannot turn the daemon against the device or the plant network: non-public
/// addresses only when listed in Ota:AllowedHosts, every redirect checked, errors that say nothing
/// about other ports, no refused download left on disk, and admin JSON capped at 64 KiB.
/// </summary>
[TestClass]
public sealed class OtaPolicyTests
{
    private static string s_folder = null!;
    private static System.Security.Cryptography.ECDsa s_signer = null!;
    private static string s_publicKey = null!;

    [ClassInitialize]
    public static void Keys(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-policy").FullName;
        (s_signer, s_publicKey) = TestBundles.SigningKey(s_folder);
    }

    [ClassCleanup]
    public static void Clean()
    {
        s_signer.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    private static async Task<(HttpStatusCode Status, string Message)> UpdateFromAsync(LiveDaemon daemon, string url)
    {
        using var response = await daemon.Admin.PostAsync("/v1/admin/update", JsonContent.Create(new { url }));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.TryGetProperty("error", out var error) ? error.GetProperty("message").GetString()! : "");
    }

    [TestMethod]
    public async Task LoopbackLinkLocalAndPrivateTargetsAreRefusedUnlessAllowed()
    {
        await using var server = new BundleServer(TestBundles.Make(s_folder, s_signer, "0.2.0"));
        int port = new Uri(server.Url).Port;
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}"]);
        // Literal addresses are refused before any connection is tried; "localhost" after DNS.
        foreach (string url in new[] { server.Url, $"http://localhost:{port}/model.edgepkg", $"http://[::1]:{port}/x", $"http://127.1:{port}/x",
            "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x", "http://192.168.1.1/x", "http://172.16.0.1/x", "http://0.0.0.0:8080/x",
            "http://[::ffff:127.0.0.1]:8080/x", "http://[fe80::1]/x", "http://[fd00::1]/x" })
        {
            var (status, message) = await UpdateFromAsync(daemon, url);
            Assert.AreEqual(HttpStatusCode.BadRequest, status, $"{url}: {message}");
            StringAssert.Contains(message, "AllowedHosts", url);
        }
        Assert.IsEmpty(server.Ranges, "nothing was fetched from the device itself");
        Assert.IsFalse(Directory.Exists(Path.Combine(daemon.StateDirectory, "downloads")) && Directory.EnumerateFiles(Path.Combine(daemon.StateDirectory, "downloads")).Any(),
            "a refused download leaves no .partial");
    }

    [TestMethod]
    public async Task EveryRedirectIsCheckedAgainstThePolicy()
    {
        await using var server = new BundleServer(TestBundles.Make(s_folder, s_signer, "0.2.0"));
        int port = new Uri(server.Url).Port;
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        server.RedirectTo = $"http://localhost:{port}/model.edgepkg";
        var (status, message) = await UpdateFromAsync(daemon, server.RedirectUrl);
        Assert.AreEqual(HttpStatusCode.BadRequest, status, message);
        StringAssert.Contains(message, "localhost");
        server.RedirectTo = $"ftp://127.0.0.1:{port}/model.edgepkg";
        (status, _) = await UpdateFromAsync(daemon, server.RedirectUrl);
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        server.RedirectTo = server.Url;
        (status, message) = await UpdateFromAsync(daemon, server.RedirectUrl);
        Assert.AreEqual(HttpStatusCode.OK, status, $"a redirect within the policy is followed: {message}");
    }

    [TestMethod]
    public async Task ErrorsSayNothingAboutOtherPorts()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}", "--Ota:AllowedHosts:0=127.0.0.1"]);
        int closed = Edge.TestSupport.LoopbackPorts.Free();
        var (closedStatus, closedMessage) = await UpdateFromAsync(daemon, $"http://127.0.0.1:{closed}/model.edgepkg");
        // The daemon's own port: open, and not a bundle server.
        int open = daemon.Client.BaseAddress!.Port;
        var (openStatus, openMessage) = await UpdateFromAsync(daemon, $"http://127.0.0.1:{open}/v1/nothing");
        Assert.AreEqual(HttpStatusCode.BadGateway, closedStatus);
        Assert.AreEqual(HttpStatusCode.BadGateway, openStatus);
        foreach (string message in new[] { closedMessage, openMessage })
        {
            Assert.DoesNotContain("Connection refused", message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("actively refused", message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Socket", message);
            Assert.DoesNotContain("(111)", message);
        }
        Assert.IsFalse(Directory.EnumerateFiles(Path.Combine(daemon.StateDirectory, "downloads")).Any(f => f.EndsWith(".partial", StringComparison.Ordinal) && new FileInfo(f).Length == 0),
            "no empty partial files are left behind");
    }

    [TestMethod]
    public async Task AnAdminJsonBodyOver64KiBIsA413AndACorruptBundleSaysSoInWords()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={s_publicKey}"]);
        string big = $$"""{"url":"https://example.com/{{new string('a', 70_000)}}"}""";
        using var response = await daemon.Admin.PostAsync("/v1/admin/update", new StringContent(big, Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        using var corrupt = new ByteArrayContent(Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
        corrupt.Headers.ContentType = new("application/octet-stream");
        using var refused = await daemon.Admin.PostAsync("/v1/admin/update", corrupt);
        Assert.AreEqual(HttpStatusCode.BadRequest, refused.StatusCode);
        string message = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        StringAssert.Contains(message, "not a readable tar archive");
        Assert.DoesNotMatchRegex(new System.Text.RegularExpressions.Regex(@"\b[A-Z][a-z]+[A-Z]\w*,"), message, "no .NET resource key");
    }
}
