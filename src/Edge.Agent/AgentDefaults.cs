namespace Edge.Agent;

/// <summary>Defaults that hold when configuration says nothing.</summary>
internal static class AgentDefaults
{
    public const string Urls = "http://127.0.0.1:8080";

    /// <summary>The embedded default model, copied next to the binary at build time.</summary>
    public static string ModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "default");

    public static string StateDirectory => "/var/lib/deepseek-edge";

    /// <summary>Largest request body accepted, in bytes.</summary>
    public const long MaxRequestBodyBytes = 1 << 20;
}
