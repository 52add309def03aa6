using System.Globalization;
using System.Net;
using System.Net.Http.Json;

namespace Edge.Agent.Tests.Ota;

/// <summary>
/// The daemon killed with SIGKILL at random points of an update, as a power cut would stop it:
/// after every restart it serves the old or the new version, nothing half-made is left, and the
/// next update succeeds. DSEDGE_POWERCUT_ROUNDS sets the number of cuts (30 by default),
/// DSEDGE_POWERCUT_SEED the random points.
/// </summary>
[TestClass]
public sealed class PowerCutTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(20 * 60 * 1000, CooperativeCancellation = true)]
    public async Task KilledAnywhereInAnUpdateTheDaemonServesTheOldOrNewVersionAndTheNextUpdateSucceeds()
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("DSEDGE_POWERCUT_ROUNDS"), CultureInfo.InvariantCulture, out int r) ? r : 30;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("DSEDGE_POWERCUT_SEED"), CultureInfo.InvariantCulture, out int s) ? s : Environment.TickCount;
        var random = new Random(seed);
        string folder = Directory.CreateTempSubdirectory("dsedge-powercut").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        string state = Path.Combine(folder, "state");
        string[] configuration = [.. TestKeys.AdminArguments, $"--Ota:TrustedKeys:0={publicKey}", "--Ota:ProbationSeconds=3600"];
        int minor = 0;
        string NextVersion() => $"1.{++minor}.0";

        var daemon = await DaemonProcess.StartAsync(state, model: null, configuration);
        var reached = new SortedDictionary<string, int>(StringComparer.Ordinal);
        try
        {
            // The cut update is always a process's second (the first follows each restart), so
            // time a second one: the first in a process is slower while the code is compiled.
            await UpdateAsync(daemon, NextVersion());
            string current = NextVersion();
            var timer = System.Diagnostics.Stopwatch.StartNew();
            var timed = UpdateAsync(daemon, current);
            await WhenLoggedAsync(daemon, timed, "verified and extracted", current);
            double verifiedMs = timer.Elapsed.TotalMilliseconds;
            await timed;
            double updateMs = timer.Elapsed.TotalMilliseconds, tailMs = updateMs - verifiedMs;
            for (int round = 0; round < rounds; round++)
            {
                string next = NextVersion();
                byte[] bundle = TestBundles.Make(folder, signer, next);
                // Half the cuts anywhere in the update's time; half aimed at the stretch after the daemon
                // logged the bundle verified and extracted (load, smoke test, swap, link flip, prune).
                var update = UpdateRequests.UploadAsync(daemon.Admin, bundle);
                int cutAt;
                if (round % 2 == 0)
                {
                    cutAt = random.Next(0, (int)(updateMs * 1.3));
                    await Task.Delay(cutAt);
                }
                else
                {
                    await WhenLoggedAsync(daemon, update, "verified and extracted", next);
                    cutAt = random.Next(0, (int)(tailMs * 1.2) + 1);
                    await Task.Delay(cutAt);
                }
                bool finished = update.IsCompleted;
                daemon.Kill();
                await Task.Delay(100); // the console logger's last lines
                string step = finished ? "after the answer"
                    : daemon.Output.LastOrDefault(line => line.Contains("Update: ", StringComparison.Ordinal) && line.Contains(next, StringComparison.Ordinal)) is { } line
                        ? StepOf(line)
                        : "receiving or verifying";
                reached[step] = reached.GetValueOrDefault(step) + 1;
                try
                {
                    (await update).Dispose();
                }
                catch (HttpRequestException)
                {
                    // the connection died with the daemon
                }
                daemon.Dispose();

                daemon = await DaemonProcess.StartAsync(state, model: null, configuration);
                string serving = await UpdateRequests.VersionAsync(daemon.Client);
                Assert.IsTrue(serving == current || serving == next, $"round {round} (seed {seed}, cut at {cutAt} ms, {step}): serves {serving}, not {current} or {next}");
                var answer = await daemon.Client.PostAsJsonAsync("/v1/completions", new { prompt = "After the power cut", max_tokens = 2, ignore_eos = true });
                Assert.AreEqual(HttpStatusCode.OK, answer.StatusCode, $"round {round}: {await answer.Content.ReadAsStringAsync()}");
                string models = Path.Combine(state, "models");
                Assert.IsFalse(Directory.EnumerateFileSystemEntries(models).Any(e => e.EndsWith(".staging", StringComparison.Ordinal) || e.EndsWith(".new", StringComparison.Ordinal)),
                    $"round {round}: half-made entries left: {string.Join(", ", Directory.EnumerateFileSystemEntries(models))}");
                string downloads = Path.Combine(state, "downloads");
                Assert.IsFalse(Directory.Exists(downloads) && Directory.EnumerateFiles(downloads, "upload-*").Any(), $"round {round}: an interrupted upload is left");

                current = NextVersion();
                await UpdateAsync(daemon, current);
            }
        }
        finally
        {
            daemon.Dispose();
            TestContext.WriteLine($"{rounds} cuts (seed {seed}); last step logged before each cut: " +
                string.Join("; ", reached.Select(pair => $"{pair.Key} x{pair.Value}")));
            Directory.Delete(folder, recursive: true);
        }

        async Task UpdateAsync(DaemonProcess running, string version)
        {
            using var response = await UpdateRequests.UploadAsync(running.Admin, TestBundles.Make(folder, signer, version));
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"the update to {version} after a cut: {await response.Content.ReadAsStringAsync()}");
            Assert.AreEqual(version, await UpdateRequests.VersionAsync(running.Client));
        }
    }

    /// <summary>Returns once the daemon logged the step for the version, or the update ended.</summary>
    private static async Task WhenLoggedAsync(DaemonProcess daemon, Task update, string step, string version)
    {
        while (!update.IsCompleted && !daemon.Output.Any(l => l.Contains(step, StringComparison.Ordinal) && l.Contains(version, StringComparison.Ordinal)))
            await Task.Delay(1);
    }

    /// <summary>"Update: loaded 1.3.0." -> "loaded".</summary>
    private static string StepOf(string line)
    {
        string text = line[(line.IndexOf("Update: ", StringComparison.Ordinal) + "Update: ".Length)..];
        int end = text.IndexOfAny([' ', '.']);
        string step = text.StartsWith("smoke test passed", StringComparison.Ordinal) ? "smoke test passed"
            : text.StartsWith("verified and extracted", StringComparison.Ordinal) ? "verified and extracted"
            : text.StartsWith("current flipped", StringComparison.Ordinal) ? "current flipped"
            : end > 0 ? text[..end] : text;
        return step;
    }
}
