using Edge.Agent.Caching;
using Edge.Agent.Generation;
using Edge.Agent.Hosting;
using Edge.Runtime;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Serving;

/// <summary>
/// Loads a model package into a <see cref="ServingModel"/> with the daemon's settings (providers,
/// scheduler, cache, limits), the same way at start and for an update, and runs its smoke test.
/// </summary>
internal sealed class ModelLoader(EngineOptions engineOptions, SchedulerOptions schedulerOptions, Security.RequestLimits limits,
    Metrics.AgentMetrics metrics, string stateDirectory, long? cacheBytes)
{
    public static ModelLoader FromConfiguration(IConfiguration configuration, string stateDirectory, Security.RequestLimits limits, Metrics.AgentMetrics metrics) => new(
        EngineConfiguration.Read(configuration, stateDirectory) with { Metrics = metrics.Runtime },
        EngineConfiguration.ReadScheduler(configuration),
        limits,
        metrics,
        stateDirectory,
        ConfigurationValues.ReadBool(configuration, "Cache:Enabled", true)
            ? ConfigurationValues.ReadInt(configuration, "Cache:MaxMegabytes", 64, minimum: 1) * 1024L * 1024L
            : null);

    /// <exception cref="ModelLoadException">The package or its model cannot be loaded.</exception>
    public ServingModel Load(string modelDirectory)
    {
        var engine = InferenceEngine.Load(modelDirectory, engineOptions);
        try
        {
            var scheduler = engine.SupportsBatching ? new GenerationScheduler(engine, schedulerOptions) : null;
            var cache = cacheBytes is { } bytes ? new ResponseCache(stateDirectory, engine.Package.Manifest.Version, bytes) : null;
            var health = new ServingHealth();
            return new ServingModel(engine, scheduler, cache, new TextGenerator(engine, scheduler, limits, cache, metrics, health), health);
        }
        catch
        {
            engine.Dispose();
            throw;
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
}
