using Edge.Agent.Caching;
using Edge.Agent.Generation;
using Edge.Agent.Gpio;
using Microsoft.Extensions.Hosting.Systemd;
using Edge.Agent.Http;
using Edge.Agent.Metrics;
using Edge.Agent.Mqtt;
using Edge.Agent.Security;
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

    /// <summary>
    /// One generation before the listener opens (so systemd's READY means a model that has
    /// answered): the manifest's smoke test when it has one. A different token sequence is
    /// logged, not fatal: another CPU may round a near-tie differently.
    /// </summary>
    private static string? WarmUp(InferenceEngine engine)
    {
        var smoke = engine.Package.Manifest.SmokeTest;
        var result = engine.Complete(smoke?.Prompt ?? "Hello", new GenerationSettings { MaxTokens = smoke?.ExpectedIds.Count ?? 1, StopAtEos = false });
        return smoke is not null && !result.CompletionIds.SequenceEqual(smoke.ExpectedIds)
            ? $"Warm-up: the smoke test produced [{string.Join(", ", result.CompletionIds)}], the manifest expects [{string.Join(", ", smoke.ExpectedIds)}]."
            : null;
    }

    /// <param name="logging">Extra logging setup (tests add a capturing provider).</param>
    public static WebApplication Build(Settings settings, string[] configurationArgs, Action<ILoggingBuilder>? logging = null)
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
        logging?.Invoke(builder.Logging);
        builder.Services.AddSystemd();
        if (!SystemdHelpers.IsSystemdService() && Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 })
        {
            // A notify socket from something other than systemd as our parent (systemd-run, a
            // supervisor, the tests): AddSystemd only looks at the parent, so speak the protocol anyway.
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        builder.Services.AddHostedService<SystemdWatchdog>();
        builder.Services.AddHostedService<StatusLightService>();
        // On SIGTERM Kestrel stops accepting and in-flight requests get this long to finish;
        // whatever is still generating then is cancelled.
        var grace = TimeSpan.FromSeconds(ConfigurationValues.ReadInt(builder.Configuration, "Shutdown:GraceSeconds", 10, minimum: 0));
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = grace);
        builder.WebHost.UseUrls(settings.Urls);
        // The slim builder leaves HTTPS out; this lets Kestrel:Endpoints / Kestrel:Certificates in
        // configuration serve HTTPS with a certificate from a file.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = AgentDefaults.MaxRequestBodyBytes);

        Directory.CreateDirectory(settings.StateDirectory);
        var apiKeys = ApiKeys.Read(builder.Configuration);
        var limits = RequestLimits.Read(builder.Configuration);
        var mqtt = MqttSettings.Read(builder.Configuration);
        builder.Services.AddRateLimiter(limits.Configure);
        var metrics = new AgentMetrics();
        builder.Services.AddSingleton(metrics);
        var loading = System.Diagnostics.Stopwatch.StartNew();
        var engine = InferenceEngine.Load(settings.ModelDirectory, EngineConfiguration.Read(builder.Configuration, settings.StateDirectory) with { Metrics = metrics.Runtime });
        var loadTime = loading.Elapsed;
        builder.Services.AddSingleton(engine);
        var scheduler = engine.SupportsBatching ? new GenerationScheduler(engine, EngineConfiguration.ReadScheduler(builder.Configuration)) : null;
        if (scheduler is not null)
            builder.Services.AddSingleton(scheduler);
        var cache = ConfigurationValues.ReadBool(builder.Configuration, "Cache:Enabled", true)
            ? new ResponseCache(settings.StateDirectory, engine.Package.Manifest.Version, ConfigurationValues.ReadInt(builder.Configuration, "Cache:MaxMegabytes", 64, minimum: 1) * 1024L * 1024L)
            : null;
        if (cache is not null)
            builder.Services.AddSingleton(cache);
        var generator = new TextGenerator(engine, scheduler, limits, cache, metrics);
        builder.Services.AddSingleton(generator);
        var mqttStore = mqtt is null ? null : new MqttStore(settings.StateDirectory, mqtt.OutboxMaxMessages, mqtt.OutboxMaxBytes, mqtt.RememberedAnswers);
        if (mqtt is not null)
            builder.Services.AddHostedService(services => new MqttAgent(mqtt, mqttStore!, generator, engine, scheduler, metrics, services.GetRequiredService<ILogger<MqttAgent>>()));
        loading.Restart();
        string? warmUpWarning = WarmUp(engine);
        var warmUpTime = loading.Elapsed;
        metrics.Observe(engine, scheduler);

        var app = builder.Build();
        // Registered as instances, so the container does not own them: release them here, after
        // Kestrel has finished (or given up on) in-flight requests, the scheduler before the engine.
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            scheduler?.Dispose();
            cache?.Dispose();
            mqttStore?.Dispose();
            engine.Dispose();
            metrics.Dispose();
        });
        foreach (string warning in engine.Warnings.Append(warmUpWarning).OfType<string>())
            AgentLog.EngineWarning(app.Logger, warning);
        AgentLog.ModelLoaded(app.Logger, engine.Package.Manifest.Name, engine.Package.Manifest.Version, engine.Package.Directory, engine.Provider, settings.StateDirectory,
            (long)loadTime.TotalMilliseconds, (long)warmUpTime.TotalMilliseconds);
        MetricsEndpoint.Map(app, metrics);
        var audit = new AuditLog(settings.StateDirectory, ConfigurationValues.ReadInt(builder.Configuration, "Audit:RetentionDays", 180, minimum: 1));
        AuthorizationMiddleware.Use(app, apiKeys, audit);
        app.UseRateLimiter();
        HealthEndpoints.Map(app);
        CompletionsEndpoint.Map(app);
        ChatCompletionsEndpoint.Map(app);
        ModelEndpoints.Map(app);
        return app;
    }
}
