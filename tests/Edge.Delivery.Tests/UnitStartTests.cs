using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime.Bundles;
using Edge.TestSupport;

namespace Edge.Delivery.Tests;

/// <summary>
/// The packaged daemon started exactly as the unit's ExecStart starts it (the binary path moved to
/// the unpacked package and the listen address to a free loopback port, nothing else; systemd's
/// $STATE_DIRECTORY set as systemd sets it): the packaged model seeds the store on the first start,
/// and an installed update is what it serves after a restart.
/// </summary>
[TestClass]
public sealed class UnitStartTests
{
    private const string AdminKey = "dse_unit-start-admin";

    [TestMethod]
    public async Task TheUnitsExecStartKeepsItsUpdatesAcrossRestarts()
    {
        string unpacked = Delivery.Unpack("amd64");
        string unit = File.ReadAllText(Path.Combine(unpacked, "lib/systemd/system/deepseek-edge.service"));
        string execStart = unit.Split('\n').Single(line => line.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        string[] words = execStart.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("--model", words, "the unit must serve from the store, not a fixed folder");
        int port = LoopbackPorts.Free();
        string binary = unpacked + words[0];
        string[] arguments = [.. words.Skip(1).Select(w => w.StartsWith("http://", StringComparison.Ordinal) ? $"http://127.0.0.1:{port}" : w)];

        string work = Directory.CreateTempSubdirectory("dsedge-unit-start").FullName;
        string state = Path.Combine(work, "state");
        Directory.CreateDirectory(state);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string publicKey = Path.Combine(work, "release.pub.pem");
        File.WriteAllText(publicKey, signer.ExportSubjectPublicKeyInfoPem());
        var environment = new Dictionary<string, string>
        {
            ["STATE_DIRECTORY"] = state,
            ["DSEDGE_Auth__Keys__0__Name"] = "operator",
            ["DSEDGE_Auth__Keys__0__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey))),
            ["DSEDGE_Auth__Keys__0__Roles__0"] = "admin",
            ["DSEDGE_Auth__Keys__0__Roles__1"] = "infer",
            ["DSEDGE_Ota__TrustedKeys__0"] = publicKey,
        };
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);

        using (var first = await StartAsync(binary, arguments, environment, http))
        {
            Assert.AreEqual("0.1.0", await VersionAsync(http));
            Assert.AreEqual("0.1.0", new FileInfo(Path.Combine(state, "models", "current")).LinkTarget, "the packaged model seeded the store");
            using var bundle = new ByteArrayContent(Bundle(unpacked, signer, work, "0.2.0"));
            bundle.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var installed = await http.PostAsync("/v1/admin/update", bundle);
            Assert.AreEqual(HttpStatusCode.OK, installed.StatusCode, await installed.Content.ReadAsStringAsync());
            first.Kill();
            first.WaitForExit();
        }
        using (var second = await StartAsync(binary, arguments, environment, http))
        {
            Assert.AreEqual("0.2.0", await VersionAsync(http), "a restart serves the installed update, not the packaged model");
            second.Kill();
            second.WaitForExit();
        }
        Directory.Delete(work, recursive: true);
        Directory.Delete(unpacked, recursive: true);
    }

    private static async Task<Process> StartAsync(string binary, string[] arguments, Dictionary<string, string> environment, HttpClient http)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var process = Process.Start(start)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) => { if (line.Data is { } text) log.Enqueue(text); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is { } text) log.Enqueue(text); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.IsFalse(process.HasExited, $"the daemon exited: {string.Join('\n', log)}");
            try
            {
                if ((await http.GetAsync("/readyz")).IsSuccessStatusCode)
                    return process;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        process.Kill();
        throw new AssertFailedException($"the daemon did not become ready: {string.Join('\n', log)}");
    }

    private static async Task<string> VersionAsync(HttpClient http) =>
        JsonDocument.Parse(await http.GetStringAsync("/readyz")).RootElement.GetProperty("version").GetString()!;

    /// <summary>The packaged model under another version, signed as a release would be.</summary>
    private static byte[] Bundle(string unpacked, ECDsa signer, string work, string version)
    {
        string package = Path.Combine(work, $"package-{version}");
        Directory.CreateDirectory(package);
        foreach (string file in Directory.EnumerateFiles(Path.Combine(unpacked, "usr/share/deepseek-edge/models/default")))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(package, "manifest.json")))!;
        manifest["version"] = version;
        File.WriteAllText(Path.Combine(package, "manifest.json"), manifest.ToJsonString());
        string bundle = Path.Combine(work, $"{version}.edgepkg");
        ModelBundle.Pack(package, signer, bundle);
        return File.ReadAllBytes(bundle);
    }
}
