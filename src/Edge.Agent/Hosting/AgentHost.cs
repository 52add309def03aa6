using Edge.Agent.Generation;
using Edge.Agent.Http;
using Edge.Agent.Metrics;
using Edge.Runtime.Scheduling;
using Edge.Runtime.Inference;

namespace Edge.Agent.Hosting;

/// <summary>
/// Builds the daemon: Generic Host with systemd integration, the engine loaded before the
/// listener opens, and the HTTP API on Kestrel.
/// </summary>
internal static class AgentHost
{
    public const string SystemConfigurationDirectory = "/etc/deepseek-edge";

    public sealed record Settings(string ModelDirectory, string Urls, string StateDirectory);

    public static WebApplication Build(Settings settings, string[] configurationArgs)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = configurationArgs,
            ContentRootPath = AppContext.BaseDirectory, // appsettings.json sits next to the binary
        });
        // appsettings.json < /etc/deepseek-edge/*.json < DSEDGE_ environment < command line.
        if (Directory.Exists(SystemConfigurationDirectory))
        {
            foreach (string file in Directory.EnumerateFiles(SystemConfigurationDirectory, "*.json").Order(StringComparer.Ordinal))
                builder.Configuration.AddJsonFile(file, optional: true, reloadOnChange: false);
        }
        builder.Configuration.AddEnvironmentVariables(prefix: "DSEDGE_");
        builder.Configuration.AddCommandLine(configurationArgs);
        builder.Services.AddSystemd();
        builder.WebHost.UseUrls(settings.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = AgentDefaults.MaxRequestBodyBytes);

        Directory.CreateDirectory(settings.StateDirectory);
        var metrics = new AgentMetrics();
        builder.Services.AddSingleton(metrics);
        var engine = InferenceEngine.Load(settings.ModelDirectory, EngineConfiguration.Read(builder.Configuration, settings.StateDirectory) with { Metrics = metrics.Runtime });
        builder.Services.AddSingleton(engine);
        var scheduler = engine.SupportsBatching ? new GenerationScheduler(engine, EngineConfiguration.ReadScheduler(builder.Configuration)) : null;
        if (scheduler is not null)
            builder.Services.AddSingleton(scheduler);
        builder.Services.AddSingleton(new TextGenerator(engine, scheduler));
        metrics.Observe(engine, scheduler);

        var app = builder.Build();
        foreach (string warning in engine.Warnings)
            AgentLog.EngineWarning(app.Logger, warning);
        AgentLog.ModelLoaded(app.Logger, engine.Package.Manifest.Name, engine.Package.Manifest.Version, engine.Package.Directory, engine.Provider, settings.StateDirectory);
        MetricsEndpoint.Map(app, metrics);
        HealthEndpoints.Map(app);
        CompletionsEndpoint.Map(app);
        ChatCompletionsEndpoint.Map(app);
        ModelEndpoints.Map(app);
        return app;
    }
}
