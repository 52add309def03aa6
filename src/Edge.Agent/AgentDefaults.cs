namespace Edge.Agent;

/// <summary>Defaults that hold when configuration says nothing.</summary>
internal static class AgentDefaults
{
    public const string Urls = "http://127.0.0.1:8080";

    /// <summary>
    /// The model the daemon ships: next to the binary (a build's output), else where the Debian
    /// package puts it relative to the binary (/usr/lib/deepseek-edge → /usr/share/deepseek-edge/models/default).
    /// </summary>
    public static string ModelDirectory
    {
        get
        {
            string beside = Path.Combine(AppContext.BaseDirectory, "models", "default");
            string packaged = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "share", "deepseek-edge", "models", "default"));
            return Directory.Exists(beside) || !Directory.Exists(packaged) ? beside : packaged;
        }
    }

    /// <summary>
    /// systemd's StateDirectory= (handed over in $STATE_DIRECTORY) on a device; /var/lib for root;
    /// otherwise the user's XDG state folder, so a developer's run never needs root.
    /// </summary>
    public static string StateDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("STATE_DIRECTORY") is { Length: > 0 } systemd)
                return systemd.Split(':')[0];
            if (Environment.UserName == "root")
                return "/var/lib/deepseek-edge";
            string xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } x
                ? x
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            return Path.Combine(xdg, "deepseek-edge");
        }
    }

    /// <summary>Largest request body accepted, in bytes.</summary>
    public const long MaxRequestBodyBytes = 1 << 20;
}
