using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>
/// The daemon as systemd runs it (Type=notify, WatchdogSec): a real unix datagram socket stands
/// where systemd's would be, and the real process talks to it.
/// </summary>
[TestClass]
public sealed class SystemdTests
{
    [TestMethod]
    public async Task NotifiesReadyAfterWarmUpThenWatchdogThenStopping()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-systemd").FullName;
        string socketPath = Path.Combine(folder, "notify");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "deepseek-edge.dll"), "serve", "--model", RepositoryPaths.DefaultModel, "--urls", "http://127.0.0.1:0", "--state-dir", folder })
            start.ArgumentList.Add(arg);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        start.Environment["WATCHDOG_USEC"] = "400000";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            var messages = new List<string>();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (messages.Count(m => m.Contains("WATCHDOG=1", StringComparison.Ordinal)) < 2)
            {
                int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, received));
            }
            int ready = messages.FindIndex(m => m.Contains("READY=1", StringComparison.Ordinal));
            Assert.IsGreaterThanOrEqualTo(0, ready, string.Join(" | ", messages));
            Assert.IsLessThan(messages.FindLastIndex(m => m.Contains("WATCHDOG=1", StringComparison.Ordinal)), ready);

            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            string last = "";
            while (!last.Contains("STOPPING=1", StringComparison.Ordinal))
            {
                int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                last = Encoding.UTF8.GetString(buffer, 0, received);
            }
            Assert.IsTrue(process.WaitForExit(30_000), "the daemon did not stop after SIGTERM");
            Assert.AreEqual(0, process.ExitCode, await errors);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
            Directory.Delete(folder, recursive: true);
        }
        _ = await output;
    }
}

/// <summary>The watchdog's rule (the engine's status): ping while idle or while steps keep finishing; withhold when work is stuck.</summary>
[TestClass]
public sealed class WatchdogRuleTests
{
    private static bool IsMakingProgress(Edge.Agent.Serving.ServingModel model, TimeSpan period, DateTimeOffset now) =>
        Edge.Agent.Serving.EngineStatus.Of(model, period, now).Healthy;

    [TestMethod]
    public async Task WithholdsThePingOnlyWhileWorkIsPendingAndNoStepFinishes()
    {
        var engine = Edge.Runtime.Inference.InferenceEngine.Load(RepositoryPaths.DefaultModel);
        var scheduler = new Edge.Runtime.Scheduling.GenerationScheduler(engine);
        using var model = new Edge.Agent.Serving.ServingModel(engine, scheduler, null, new Edge.Agent.Serving.ServingHealth());
        var period = TimeSpan.FromSeconds(5);
        Assert.IsTrue(IsMakingProgress(model, period, DateTimeOffset.UtcNow.AddHours(1)), "idle is healthy however long");

        var running = scheduler.GenerateAsync(engine.Tokenizer.Encode("Hello"), new Edge.Runtime.Inference.GenerationSettings { MaxTokens = 600, StopAtEos = false });
        while (scheduler.ActiveSequences == 0)
            await Task.Delay(1);
        Assert.IsTrue(IsMakingProgress(model, period, DateTimeOffset.UtcNow));
        Assert.IsFalse(IsMakingProgress(model, period, DateTimeOffset.UtcNow.AddMinutes(1)), "busy with no step for a minute is a hang");
        await running;
    }
}
