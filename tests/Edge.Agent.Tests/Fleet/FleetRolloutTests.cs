using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Agent.Fleet;
using Edge.Agent.Tests.Mqtt;
using Edge.Agent.Tests.Ota;

namespace Edge.Agent.Tests.Fleet;

/// <summary>
/// A fleet on one machine: 12 daemons (each its own process and state folder) on one mosquitto,
/// bundles from one HTTP server, rolled out by the fleet tool through the broker alone. A bundle
/// that fails its smoke test halts at the 2-device canary with the other 10 untouched; a good one
/// reaches all 12 and commits, although one device is SIGKILLed mid-rollout (it catches up after
/// its restart) and the broker restarts mid-rollout, and the rollout itself is stopped and resumed
/// from its state file.
/// </summary>
[TestClass]
public sealed class FleetRolloutTests
{
    private const int Devices = 12;

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task ABadBundleHaltsAtTheCanaryAndAGoodOneReachesAllTwelve()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-fleet").FullName;
        var (signer, publicKey) = TestBundles.SigningKey(folder);
        using var _ = signer;
        using var broker = MosquittoBroker.Start();
        // A smoke test that cannot pass: the expected ids are not what the model answers.
        await using var bad = new BundleServer(TestBundles.Make(folder, signer, "0.6.0", manifest => manifest["smoke_test"]!["expected_ids"] = new JsonArray(1, 2, 3)));
        await using var good = new BundleServer(TestBundles.Make(folder, signer, "0.7.0"));
        var daemons = new DaemonProcess?[Devices];
        string[] Configuration(int i) => [$"--Mqtt:Host=127.0.0.1", $"--Mqtt:Port={broker.Port}", $"--Device:Id=press-{i:D2}", "--Device:Groups=line-4,plant",
            $"--Ota:TrustedKeys:0={publicKey}", "--Ota:AllowedHosts:0=127.0.0.1", "--Ota:ProbationSeconds=2", "--Cache:Enabled=false"];
        string State(int i) => Path.Combine(folder, $"press-{i:D2}");
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Devices).Select(async i => daemons[i] = await DaemonProcess.StartAsync(State(i), null, Configuration(i))));
            await using var fleet = await FleetClient.ConnectAsync($"127.0.0.1:{broker.Port}", "deepseek-edge", CancellationToken.None);
            await WaitAsync(() => fleet.Devices.Count(d => d.Value.Status == "online") == Devices, "all 12 online");
            CollectionAssert.Contains(fleet.Devices["press-03"].Groups.ToList(), "line-4");
            var ids = fleet.Devices.Keys.ToList();

            // The bad bundle: the canary refuses it, the rollout halts, the other 10 never hear of it.
            string badState = Path.Combine(folder, "rollouts", "bad.json");
            var plan = Rollout.Plan("bad", bad.Url, "line-4", ids, 0.1, 2, 5, waitCommit: true);
            Assert.AreEqual(2, plan.CanaryCount);
            var halted = await new Rollout(fleet, badState, Console.Out).RunAsync(plan, TimeSpan.FromMinutes(2), CancellationToken.None);
            Assert.AreEqual("halted", halted.Status, halted.Reason);
            StringAssert.Contains(halted.Reason, "refused");
            var canary = plan.Devices.Take(2).ToList();
            Assert.IsTrue(canary.Any(d => halted.Progress[d].State == "failed"));
            Assert.AreEqual(10, plan.Devices.Skip(2).Count(d => halted.Progress[d].State == "pending"));
            Assert.AreEqual(0, plan.Devices.Skip(2).Count(d => fleet.Outcomes.ContainsKey(d)), "the other 10 got no command");
            Assert.IsTrue(fleet.Devices.Values.All(d => d.Version == "0.1.0"));

            // The good bundle, canary 2 then waves of 5, each device counted once its probation commits.
            string goodState = Path.Combine(folder, "rollouts", "good.json");
            var goodPlan = Rollout.Plan("good", good.Url, "line-4", ids, 0.1, 2, 5, waitCommit: true);
            string victim = goodPlan.Devices[^1]; // in the last wave
            int victimIndex = int.Parse(victim[^2..], System.Globalization.CultureInfo.InvariantCulture);

            // The rollout runs until the canary committed, then stops (as if its machine restarted).
            using (var stop = new CancellationTokenSource())
            {
                var first = new Rollout(fleet, goodState, Console.Out);
                var running = first.RunAsync(goodPlan, TimeSpan.FromMinutes(3), stop.Token);
                await WaitAsync(() => Rollout.Load(goodState)!.Progress.Values.Count(p => p.State == "committed") >= 2, "the canary committed");
                await stop.CancelAsync();
                await Assert.ThrowsAsync<OperationCanceledException>(() => running);
            }
            // While no rollout runs: one device of the last wave is SIGKILLed, and the broker restarts.
            daemons[victimIndex]!.Kill();
            broker.Stop();
            broker.Resume();
            await WaitAsync(() => fleet.IsConnected, "the fleet tool reconnected");

            // The rollout resumes from its state file; the killed device comes back while it waits.
            var resumed = Rollout.Load(goodState)!;
            Assert.AreEqual("running", resumed.Status);
            var rest = new Rollout(fleet, goodState, Console.Out).RunAsync(resumed, TimeSpan.FromMinutes(3), CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(3));
            daemons[victimIndex]!.Dispose();
            daemons[victimIndex] = await DaemonProcess.StartAsync(State(victimIndex), null, Configuration(victimIndex));
            var done = await rest;
            Assert.AreEqual("done", done.Status, done.Reason);
            Assert.IsTrue(done.Progress.Values.All(p => p.State == "committed" && p.Version == "0.7.0"));
            await WaitAsync(() => fleet.Devices.Values.Count(d => d.Version == "0.7.0" && d.Status == "online") == Devices, "all 12 on 0.7.0");
            foreach (var daemon in daemons)
            {
                using var models = await daemon!.Client.GetAsync("/readyz");
                StringAssert.Contains(await models.Content.ReadAsStringAsync(), "\"version\":\"0.7.0\"");
            }
        }
        finally
        {
            foreach (var daemon in daemons)
                daemon?.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new AssertFailedException($"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }
}
