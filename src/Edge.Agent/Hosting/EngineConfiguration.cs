using Edge.Runtime;
using Edge.Runtime.Providers;
using Edge.Runtime.Scheduling;

namespace Edge.Agent.Hosting;

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
            StrictProviders = ReadBool(configuration, "Engine:StrictProviders", false),
            IntraOpThreads = ReadInt(configuration, "Engine:IntraOpThreads", 0, minimum: 0),
            StateDirectory = stateDirectory,
        };
    }

    /// <summary>Scheduler:MaxBatchSize (32), Scheduler:MaxWaitMs (50), Scheduler:MaxQueue (256).</summary>
    public static SchedulerOptions ReadScheduler(IConfiguration configuration)
    {
        var defaults = new SchedulerOptions();
        return new SchedulerOptions
        {
            MaxBatchSize = ReadInt(configuration, "Scheduler:MaxBatchSize", defaults.MaxBatchSize, minimum: 1),
            MaxWaitMs = ReadInt(configuration, "Scheduler:MaxWaitMs", defaults.MaxWaitMs, minimum: 0),
            MaxQueue = ReadInt(configuration, "Scheduler:MaxQueue", defaults.MaxQueue, minimum: 1),
        };
    }

    public static bool ReadBool(IConfiguration configuration, string key, bool fallback) => configuration[key] switch
    {
        null or "" => fallback,
        var text when bool.TryParse(text, out bool value) => value,
        var text => throw new ConfigurationException(key, $"'{text}' is not true or false"),
    };

    public static int ReadInt(IConfiguration configuration, string key, int fallback, int minimum) => configuration[key] switch
    {
        null or "" => fallback,
        var text when int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= minimum => value,
        var text => throw new ConfigurationException(key, $"'{text}' is not a whole number of at least {minimum}"),
    };
}

/// <summary>A configuration value the daemon cannot start with; the message names the key.</summary>
internal sealed class ConfigurationException(string key, string problem) : Exception($"Configuration {key}: {problem}.")
{
    public string Key { get; } = key;
}
