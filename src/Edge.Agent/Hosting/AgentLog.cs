namespace Edge.Agent.Hosting;

internal static partial class AgentLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} {Version} loaded from {Directory} on the {Provider} provider in {LoadMs} ms (warm-up {WarmUpMs} ms); state in {State}.")]
    public static partial void ModelLoaded(ILogger logger, string name, string version, string directory, string provider, string state, long loadMs, long warmUpMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    public static partial void EngineWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model store at start: {Message}")]
    public static partial void Recovery(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "State not written: {Problem}.")]
    public static partial void StateWriteFailed(ILogger logger, string problem);
}
