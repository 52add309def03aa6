using Edge.Agent.Caching;
using Edge.Agent.Configuration;
using Edge.Runtime;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Serving;

/// <summary>
/// Loads a model package into a <see cref="ServingModel"/> with the daemon's settings (providers,
/// scheduler, cache), the same way at start and for an update, and runs its smoke test.
/// </summary>
/// <param name="wrapExecutor">Wraps each batch executor the scheduler makes: the seam tests inject engine faults through.</param>
internal sealed partial class ModelLoader(EngineOptions engineOptions, SchedulerOptions schedulerOptions, string stateDirectory, long? cacheBytes, ILogger logger,
    Func<IBatchExecutor, IBatchExecutor>? wrapExecutor = null)
{
    public static ModelLoader FromConfiguration(IConfiguration configuration, string stateDirectory, Runtime.Diagnostics.RuntimeMetrics metrics, ILogger logger,
        Func<IBatchExecutor, IBatchExecutor>? wrapExecutor = null) => new(
        EngineConfiguration.Read(configuration, stateDirectory) with { Metrics = metrics },
        EngineConfiguration.ReadScheduler(configuration),
        stateDirectory,
        ConfigurationValues.ReadBool(configuration, "Cache:Enabled", true)
            ? ConfigurationValues.ReadInt(configuration, "Cache:MaxMegabytes", 64, minimum: 1) * 1024L * 1024L
            : null,
        logger,
        wrapExecutor);

    /// <exception cref="ModelLoadException">The package or its model cannot be loaded.</exception>
    public ServingModel Load(string modelDirectory)
    {
        var engine = InferenceEngine.Load(modelDirectory, engineOptions);
        try
        {
            var scheduler = !engine.SupportsBatching ? null
                : wrapExecutor is null ? new GenerationScheduler(engine, schedulerOptions)
                : new GenerationScheduler(engine, schedulerOptions, maxBatch => wrapExecutor(GenerationScheduler.OnnxRuntimeExecutor(engine, maxBatch, schedulerOptions.PrefixCacheBytes)));
            if (scheduler is not null)
                scheduler.Faulted += (stage, error, stopped) => EngineFault(logger, stage, stopped ? "the scheduler stopped" : "the touched sequences failed; serving on", error);
            return new ServingModel(engine, scheduler, OpenCache(engine.Package.Manifest.Version), new ServingHealth());
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>The response cache, or none when it cannot be opened (a full or read-only disk): serving matters more.</summary>
    private ResponseCache? OpenCache(string version)
    {
        if (cacheBytes is not { } bytes)
            return null;
        try
        {
            return new ResponseCache(stateDirectory, version, bytes);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            CacheOff(logger, e.Message);
            return null;
        }
    }

    /// <summary>
    /// One generation: the manifest's smoke test when it has one (its greedy ids must come out),
    /// else a one-token "Hello". Returns what differed, or null.
    /// </summary>
    public static string? SmokeTest(InferenceEngine engine)
    {
        var smoke = engine.Package.Manifest.SmokeTest;
        var result = engine.Complete(smoke?.Prompt ?? "Hello", new GenerationSettings { MaxTokens = smoke?.ExpectedIds.Count ?? 1, StopAtEos = false });
        return smoke is not null && !result.CompletionIds.SequenceEqual(smoke.ExpectedIds)
            ? $"the smoke test produced [{string.Join(", ", result.CompletionIds)}], the manifest expects [{string.Join(", ", smoke.ExpectedIds)}]"
            : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The response cache cannot be opened ({Reason}); serving without it.")]
    private static partial void CacheOff(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Engine fault during {Stage}: {Outcome}.")]
    private static partial void EngineFault(ILogger logger, GenerationStage stage, string outcome, Exception error);
}
