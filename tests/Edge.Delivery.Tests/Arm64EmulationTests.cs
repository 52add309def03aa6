using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Edge.TestSupport;

namespace Edge.Delivery.Tests;

/// <summary>
/// The arm64 binary from the arm64 package, run under qemu-user: it serves the default model and
/// answers a greedy completion exactly as the x64 build does. ONNX Runtime reads /proc/cpuinfo to
/// pick kernels and aborts on the x86 host's, so the daemon runs in a mount namespace with a
/// Raspberry Pi 5 (Cortex-A76) cpuinfo bound over it. Its shared libraries come from Debian's
/// arm64 multiarch packages (libc6, libstdc++6, libssl3), as on a device; test.sh installs them.
/// </summary>
[TestClass]
public sealed class Arm64EmulationTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task TheArm64PackageBinaryIsAarch64AndAnswersLikeTheX64Build()
    {
        string arm = Delivery.Unpack("arm64");
        string x64 = Delivery.Unpack("amd64");
        Assert.AreEqual(0xB7, ElfMachine(Path.Combine(arm, "usr/lib/deepseek-edge/deepseek-edge")), "EM_AARCH64");
        Assert.AreEqual(0x3E, ElfMachine(Path.Combine(x64, "usr/lib/deepseek-edge/deepseek-edge")), "EM_X86_64");

        string cpuinfo = Path.Combine(RepositoryPaths.Root, "tests/data/cpuinfo-raspberrypi5-cortex-a76");
        string emulated = $"mount --bind '{cpuinfo}' /proc/cpuinfo && exec qemu-aarch64-static \"$@\"";
        string[] unshare = Environment.UserName == "root" ? ["-m"] : ["-r", "-m"];
        string armAnswer = await CompleteAsync("unshare", [.. unshare, "sh", "-c", emulated, "sh", Path.Combine(arm, "usr/lib/deepseek-edge/deepseek-edge")], arm, "arm64 under qemu");
        string x64Answer = await CompleteAsync(Path.Combine(x64, "usr/lib/deepseek-edge/deepseek-edge"), [], x64, "x64");
        Assert.AreEqual(x64Answer, armAnswer);
    }

    private async Task<string> CompleteAsync(string program, string[] prefix, string unpacked, string name)
    {
        int port = Edge.TestSupport.LoopbackPorts.Free();
        string state = Directory.CreateTempSubdirectory("dsedge-arm-state").FullName;
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in prefix.Concat(["serve", "--model", Path.Combine(unpacked, "usr/share/deepseek-edge/models/default"),
            "--urls", $"http://127.0.0.1:{port}", "--state-dir", state]))
            start.ArgumentList.Add(argument);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(120) };
        try
        {
            while (true)
            {
                Assert.IsFalse(process.HasExited, $"{name} exited: {log}");
                Assert.IsLessThan(TimeSpan.FromMinutes(3), clock.Elapsed, $"{name} did not answer /healthz: {log}");
                try
                {
                    if ((await client.GetAsync("/healthz")).IsSuccessStatusCode)
                        break;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(100);
                }
            }
            TestContext.WriteLine($"{name}: start to /healthz {clock.ElapsedMilliseconds} ms");
            var response = await client.PostAsync("/v1/completions",
                new StringContent("""{"prompt":"The press on line 3","max_tokens":16,"ignore_eos":true,"temperature":0}""", Encoding.UTF8, "application/json"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.IsTrue(response.IsSuccessStatusCode, body);
            using var json = JsonDocument.Parse(body);
            Assert.AreEqual(16, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            string text = json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
            TestContext.WriteLine($"{name}: {text}");
            return text;
        }
        finally
        {
            process.Kill();
            process.WaitForExit();
            Directory.Delete(state, recursive: true);
        }
    }

    private static int ElfMachine(string path)
    {
        var header = new byte[20];
        using (var file = File.OpenRead(path))
            file.ReadExactly(header);
        Assert.IsTrue(header.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), $"{path} is not ELF");
        return header[18] | (header[19] << 8);
    }

}
