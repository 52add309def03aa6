using Edge.Agent.Configuration;
using Edge.Agent.Core;
using Edge.Agent.Gpio;
using Microsoft.Extensions.Hosting.Systemd;
using Edge.Agent.Http;
using Edge.Agent.Metrics;
using Edge.Agent.Mqtt;
using Edge.Agent.Ota;
using Edge.Agent.Serving;
using Edge.Agent.Security;

namespace Edge.Agent.Hosting;

/// <summary>
/// Builds the daemon: Generic Host with systemd integration, the engine loaded before the
/// listener opens, and the HTTP API on Kestrel.
/// </summary>
internal static class AgentHost
{
    public const string SystemConfigurationDirectory = "/etc/deepseek-edge";

    /// <param name="ModelDirectory">The package to serve, or null for the installed model (OTA store), else the embedded default.</param>
    /// <param name="WrapExecutor">Wraps the engine's batch executor: how tests inject faults into a running daemon. Null in service.</param>
    public sealed record StartOptions(string? ModelDirectory, string Urls, string StateDirectory, Func<Edge.Runtime.Scheduling.IBatchExecutor, Edge.Runtime.Scheduling.IBatchExecutor>? WrapExecutor = null);

    /// <param name="logging">Extra logging setup (tests add a capturing provider).</param>
    public static WebApplication Build(StartOptions settings, string[] configurationArgs, Action<ILoggingBuilder>? logging = null)
    {
        // Everything the daemon creates is its user's alone, whatever umask it was started with.
        Runtime.Storage.FileCreationMask.Set(Runtime.Storage.FileCreationMask.OwnerOnly);
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
        var limits = AdmissionLimits.Read(builder.Configuration);
        var modelNames = ModelNames.Read(builder.Configuration);
        builder.Services.AddSingleton(modelNames);
        var mqtt = MqttSettings.Read(builder.Configuration);
        builder.Services.AddRateLimiter(CallerConcurrencyLimits.Read(builder.Configuration).Configure);
        var metrics = new AgentMetrics();
        builder.Services.AddSingleton(metrics);
        var loading = System.Diagnostics.Stopwatch.StartNew();
        // Logging for what is built before the host's own logging exists (the loader, the journal);
        // it lives as long as the daemon, since updates load models through the same loader.
        var earlyLogging = LoggerFactory.Create(early =>
        {
            early.AddSimpleConsole();
            logging?.Invoke(early);
        });
        var startupLog = earlyLogging.CreateLogger("Edge.Agent.Startup");
        var audit = new AuditLog(settings.StateDirectory, new AuditLimits(
            ConfigurationValues.ReadInt(builder.Configuration, "Audit:RetentionDays", 180, minimum: 1),
            ConfigurationValues.ReadInt(builder.Configuration, "Audit:MaxKilobytesPerDay", 1024, minimum: 1) * 1024L,
            ConfigurationValues.ReadInt(builder.Configuration, "Audit:MaxMegabytes", 16, minimum: 1) * 1024L * 1024L));
        var updateSettings = UpdateSettings.Read(builder.Configuration);
        var store = new ModelStore(settings.StateDirectory);
        var journal = new OtaJournal(store.Root);
        journal.WriteFailed += problem => AgentLog.StateWriteFailed(startupLog, problem);
        var recovery = new List<string>();
        string modelDirectory = settings.ModelDirectory ?? ChooseInstalledModel(store, journal, updateSettings, settings.StateDirectory, audit, recovery) ?? AgentDefaults.ModelDirectory;
        var loader = ModelLoader.FromConfiguration(builder.Configuration, settings.StateDirectory, metrics.Runtime, earlyLogging.CreateLogger<ModelLoader>(), settings.WrapExecutor);
        builder.Services.AddSingleton(loader);
        var serving = loader.Load(modelDirectory);
        var loadTime = loading.Elapsed;
        var slot = new ModelSlot(serving);
        builder.Services.AddSingleton(slot);
        builder.Services.AddSingleton(services => new CompletionService(slot, limits, modelNames, services.GetRequiredService<ILogger<CompletionService>>(), metrics));
        builder.Services.AddSingleton(services => new ModelUpdater(updateSettings, store, journal, loader, slot, modelDirectory, audit, metrics, services.GetRequiredService<ILogger<ModelUpdater>>()));
        builder.Services.AddHostedService<ProbationMonitor>();
        if (updateSettings.Poll is { } poll)
        {
            builder.Services.AddHostedService(services => new UpdatePoller(services.GetRequiredService<ModelUpdater>(), slot, poll,
                services.GetRequiredService<ILogger<UpdatePoller>>()));
        }
        var mqttStore = mqtt is null ? null : OpenMqttStore(mqtt, settings.StateDirectory, startupLog);
        if (mqtt is not null && mqttStore is not null)
        {
            builder.Services.AddHostedService(services => new MqttAgent(mqtt, mqttStore, slot, services.GetRequiredService<CompletionService>(), metrics,
                services.GetRequiredService<ILogger<MqttAgent>>(), services.GetRequiredService<ModelUpdater>()));
        }
        // One generation before the listener opens, so systemd's READY means a model that has
        // answered. A different token sequence is logged, not fatal here: another CPU may round a
        // near-tie differently (an update, in contrast, must pass it).
        loading.Restart();
        string? warmUpWarning = ModelLoader.SmokeTest(serving.Engine) is { } problem ? $"Warm-up: {problem}." : null;
        var warmUpTime = loading.Elapsed;
        metrics.Observe(new AgentMetrics.Readings(
            () => (slot.Current.Engine.Package.Manifest.Name, slot.Current.Version, slot.Current.Engine.Provider),
            () => slot.Current.Scheduler?.QueueDepth ?? 0,
            () => slot.Current.Scheduler?.ActiveSequences ?? 0,
            () => slot.Current.Scheduler?.PrefixTokensReused ?? 0,
            () => EngineStatus.Of(slot.Current, DateTimeOffset.UtcNow).Healthy,
            () => journal.Probation is not null,
            () => audit.Dropped));

        var app = builder.Build();
        // Registered as instances, so the container does not own them: release them here, after
        // Kestrel has finished (or given up on) in-flight requests.
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            earlyLogging.Dispose();
            slot.Dispose();
            mqttStore?.Dispose();
            metrics.Dispose();
        });
        var engine = serving.Engine;
        foreach (string message in recovery)
            AgentLog.Recovery(app.Logger, message);
        foreach (string warning in engine.Warnings.Append(warmUpWarning).OfType<string>())
            AgentLog.EngineWarning(app.Logger, warning);
        AgentLog.ModelLoaded(app.Logger, engine.Package.Manifest.Name, engine.Package.Manifest.Version, engine.Package.Directory, engine.Provider, settings.StateDirectory,
            (long)loadTime.TotalMilliseconds, (long)warmUpTime.TotalMilliseconds);
        HttpErrors.UseStatusBodies(app);
        // Routing first, so that authorization and rate limits read the role the chosen endpoint declares.
        app.UseRouting();
        MetricsEndpoint.Map(app, metrics);
        AuthorizationMiddleware.Use(app, apiKeys, audit);
        app.UseRateLimiter();
        HealthEndpoints.Map(app);
        CompletionEndpoints.Map(app);
        ModelEndpoints.Map(app);
        OllamaEndpoints.Map(app);
        StatusEndpoint.Map(app);
        DevicePage.Map(app);
        AdminEndpoints.Map(app);
        return app;
    }

    /// <summary>
    /// The installed model to serve. An empty store is seeded with the model the daemon ships (the
    /// first start of a device). A store the disk will not let us repair or seed is reported, and
    /// the model the daemon ships serves straight from where it lies.
    /// </summary>
    private static string? ChooseInstalledModel(ModelStore store, OtaJournal journal, UpdateSettings updates, string stateDirectory, AuditLog audit, List<string> recovery)
    {
        try
        {
            if (StartupRecovery.ChooseModel(store, journal, updates.Probation, ModelUpdater.DownloadsFolder(stateDirectory), audit, recovery.Add) is { } installed)
                return installed;
            string seeded = store.Seed(AgentDefaults.ModelDirectory);
            recovery.Add($"The model store was empty: seeded it with the packaged model, now {seeded}.");
            return seeded;
        }
        catch (Edge.Runtime.ModelLoadException e)
        {
            recovery.Add($"The packaged model cannot seed the store ({e.Message}); serving it from {AgentDefaults.ModelDirectory}.");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            recovery.Add($"The model store could not be recovered ({e.Message}); serving {store.Current ?? "the built-in model"}.");
            return store.Current;
        }
    }

    /// <summary>The MQTT store; without one (a full or read-only disk) MQTT stays off, since answers could not be kept durable, and HTTP serves.</summary>
    private static MqttStore? OpenMqttStore(MqttSettings mqtt, string stateDirectory, ILogger log)
    {
        try
        {
            return new MqttStore(stateDirectory, mqtt.OutboxMaxMessages, mqtt.OutboxMaxBytes, mqtt.RememberedAnswers);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            AgentLog.StateWriteFailed(log, $"the MQTT store cannot be opened ({e.Message}); MQTT is off until a restart with room on the disk");
            return null;
        }
    }
}
