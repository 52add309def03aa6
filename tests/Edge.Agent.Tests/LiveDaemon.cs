using Edge.Agent.Hosting;
using Edge.TestSupport;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Edge.Agent.Tests;

/// <summary>The daemon on a free loopback port, serving the embedded default model, for one test class.</summary>
internal sealed class LiveDaemon : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LiveDaemon(WebApplication app, Uri address, string stateDirectory)
    {
        _app = app;
        StateDirectory = stateDirectory;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Admin = TestKeys.AdminClient(address);
    }

    /// <summary>A client without a key (anonymous on loopback).</summary>
    public HttpClient Client { get; }

    /// <summary>A client with <see cref="TestKeys.Admin"/>, for daemons started with <see cref="TestKeys.AdminArguments"/>.</summary>
    public HttpClient Admin { get; }

    public string StateDirectory { get; }

    /// <summary>The daemon's services, for tests that look inside (the model slot, say).</summary>
    public IServiceProvider Services => _app.Services;

    /// <param name="configuration">Command-line style settings, e.g. "--Scheduler:MaxQueue=1".</param>
    public static Task<LiveDaemon> StartAsync(params string[] configuration) =>
        StartWithStateAsync(Path.Combine(Path.GetTempPath(), $"dsedge-test-{Guid.NewGuid():N}"), configuration);

    /// <summary>A daemon on an existing state directory, as after a restart.</summary>
    public static Task<LiveDaemon> StartWithStateAsync(string state, params string[] configuration) => StartAsync(state, null, configuration);

    /// <summary>A daemon whose engine runs through <paramref name="wrapExecutor"/>: tests inject faults with it.</summary>
    public static Task<LiveDaemon> StartWithExecutorAsync(Func<Edge.Runtime.Scheduling.IBatchExecutor, Edge.Runtime.Scheduling.IBatchExecutor> wrapExecutor, params string[] configuration) =>
        StartAsync(Path.Combine(Path.GetTempPath(), $"dsedge-test-{Guid.NewGuid():N}"), wrapExecutor, configuration);

    /// <summary>A daemon serving another model package than the embedded default.</summary>
    public static Task<LiveDaemon> StartWithModelAsync(string modelDirectory, params string[] configuration) =>
        StartAsync(Path.Combine(Path.GetTempPath(), $"dsedge-test-{Guid.NewGuid():N}"), null, configuration, modelDirectory);

    private static async Task<LiveDaemon> StartAsync(string state, Func<Edge.Runtime.Scheduling.IBatchExecutor, Edge.Runtime.Scheduling.IBatchExecutor>? wrapExecutor, string[] configuration, string? model = null)
    {
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var app = AgentHost.Build(new AgentHost.StartOptions(model ?? RepositoryPaths.DefaultModel, "http://127.0.0.1:0", state, wrapExecutor), configuration,
            logging => logging.AddProvider(new CapturingLoggerProvider(problems)));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LiveDaemon(app, new Uri(address), state) { _problems = problems };
    }

    private System.Collections.Concurrent.ConcurrentQueue<string> _problems = new();

    /// <summary>Warnings and errors logged since the host was built, as "Level category: message".</summary>
    public IReadOnlyCollection<string> LoggedProblems => _problems;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps warnings and errors the daemon logs, so tests can see that bad input logged none.</summary>
internal sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(sink, categoryName);

    public void Dispose() { }

    private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
