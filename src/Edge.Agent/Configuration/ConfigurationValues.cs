namespace Edge.Agent.Configuration;

/// <summary>Typed reads of configuration values; a value that does not parse stops start-up naming its key.</summary>
internal static class ConfigurationValues
{
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
