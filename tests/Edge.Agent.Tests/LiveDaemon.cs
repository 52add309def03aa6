using Edge.Agent.Hosting;
using Edge.TestSupport;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Agent.Tests;

/// <summary>The daemon on a free loopback port, serving the embedded default model, for one test class.</summary>
internal sealed class LiveDaemon : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LiveDaemon(WebApplication app, Uri address)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Client { get; }

    /// <param name="configuration">Command-line style settings, e.g. "--Scheduler:MaxQueue=1".</param>
    public static async Task<LiveDaemon> StartAsync(params string[] configuration)
    {
        string state = Path.Combine(Path.GetTempPath(), $"dsedge-test-{Guid.NewGuid():N}");
        var app = AgentHost.Build(new AgentHost.Settings(RepositoryPaths.DefaultModel, "http://127.0.0.1:0", state), configuration);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LiveDaemon(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
