using Edge.Agent.Configuration;
using Edge.Runtime;
using Edge.Runtime.Providers;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Serving;

/// <summary>
/// Engine settings from configuration: Engine:Providers ("tensorrt,cuda,cpu"), Engine:StrictProviders,
/// Engine:IntraOpThreads and OnnxRuntime:NativeLibraryPath. A bad value stops start-up with a
/// message naming the key.
/// </summary>
internal static class EngineConfiguration
{
    public static EngineOptions Read(IConfiguration configuration, string stateDirectory)
    {
        if (configuration["OnnxRuntime:NativeLibraryPath"] is { Length: > 0 } library)
            OnnxRuntimeLibrary.Use(library);
        return new EngineOptions
        {
            ExecutionProviders = configuration["Engine:Providers"] is { Length: > 0 } list ? ExecutionProvider.ParseList(list) : [ExecutionProvider.Cpu],
            StrictProviders = ConfigurationValues.ReadBool(configuration, "Engine:StrictProviders", false),
            IntraOpThreads = ConfigurationValues.ReadInt(configuration, "Engine:IntraOpThreads", 0, minimum: 0),
            StateDirectory = stateDirectory,
        };
    }

    /// <summary>
    /// Scheduler:MaxBatchSize (32), Scheduler:MaxWaitMs (0), Scheduler:MaxQueue (256),
    /// Scheduler:PrefillChunkTokens (256), Scheduler:PrefixCacheMiB (64; 0 turns prefix reuse off).
    /// </summary>
    public static SchedulerOptions ReadScheduler(IConfiguration configuration)
    {
        var defaults = new SchedulerOptions();
        return new SchedulerOptions
        {
            MaxBatchSize = ConfigurationValues.ReadInt(configuration, "Scheduler:MaxBatchSize", defaults.MaxBatchSize, minimum: 1),
            MaxWaitMs = ConfigurationValues.ReadInt(configuration, "Scheduler:MaxWaitMs", defaults.MaxWaitMs, minimum: 0),
            MaxQueue = ConfigurationValues.ReadInt(configuration, "Scheduler:MaxQueue", defaults.MaxQueue, minimum: 1),
            PrefillChunkTokens = ConfigurationValues.ReadInt(configuration, "Scheduler:PrefillChunkTokens", defaults.PrefillChunkTokens, minimum: 1),
            PrefixCacheBytes = (long)ConfigurationValues.ReadInt(configuration, "Scheduler:PrefixCacheMiB", (int)(defaults.PrefixCacheBytes >> 20), minimum: 0) << 20,
        };
    }
}
