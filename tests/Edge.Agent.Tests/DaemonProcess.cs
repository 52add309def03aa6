using System.Diagnostics;
using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>The daemon as its own process (dotnet deepseek-edge.dll serve), for tests that kill it.</summary>
internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;

    private DaemonProcess(Process process, HttpClient client)
    {
        _process = process;
        Client = client;
        Admin = TestKeys.AdminClient(client.BaseAddress!);
    }

    public HttpClient Client { get; }

    /// <summary>A client with <see cref="TestKeys.Admin"/>, for daemons started with <see cref="TestKeys.AdminArguments"/>.</summary>
    public HttpClient Admin { get; }

    /// <summary>What the daemon wrote to stdout and stderr so far, line by line.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; private init; } = new();

    public static Task<DaemonProcess> StartAsync(string stateDirectory, params string[] configuration) => StartAsync(stateDirectory, RepositoryPaths.DefaultModel, configuration);

    /// <param name="model">The --model argument, or null to let the daemon choose (its model store, else the embedded default).</param>
    public static async Task<DaemonProcess> StartAsync(string stateDirectory, string? model, params string[] configuration)
    {
        int port = Edge.TestSupport.LoopbackPorts.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] modelArguments = model is null ? [] : ["--model", model];
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "deepseek-edge.dll"), "serve" }.Concat(modelArguments)
            .Concat(["--urls", $"http://127.0.0.1:{port}", "--state-dir", stateDirectory]).Concat(configuration))
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        // Drain the output so the daemon never blocks on a full pipe; keep it for the tests that read the log.
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) => { if (line.Data is { } text) output.Enqueue(text); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is { } text) output.Enqueue(text); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var daemon = new DaemonProcess(process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) }) { Output = output };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await daemon.Client.GetAsync("/healthz")).IsSuccessStatusCode)
                    return daemon;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>A value from /metrics (the first series whose line starts with the given text), 0 when absent.</summary>
    public Task<double> MetricAsync(string series) => new MetricsReader(Client).ValueAsync(series);

    /// <summary>SIGKILL: no shutdown code runs, as in a power cut of the process.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }


    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
        Client.Dispose();
        Admin.Dispose();
    }
}
