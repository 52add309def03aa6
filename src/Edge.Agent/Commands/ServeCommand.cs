using System.CommandLine;
using Edge.Agent.Hosting;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge serve (the default): run the daemon.</summary>
internal static class ServeCommand
{
    public static readonly Option<string> Model = new("--model") { Description = "Model package folder (default: the installed model in <state>/models/current, else the embedded default model)." };
    public static readonly Option<string> Urls = new("--urls") { Description = $"Addresses to listen on (default {AgentDefaults.Urls})." };
    public static readonly Option<string> StateDirectory = new("--state-dir") { Description = "Folder for the daemon's state (default: $STATE_DIRECTORY from systemd, /var/lib/deepseek-edge for root, else ~/.local/state/deepseek-edge)." };

    public static Command Create()
    {
        // Anything else on the command line is configuration: --Engine:Providers=xnnpack,cpu
        var command = new Command("serve", "Serve the model over HTTP (the default command).") { Model, Urls, StateDirectory };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, cancellation) => RunAsync(result, cancellation));
        return command;
    }

    public static async Task<int> RunAsync(ParseResult result, CancellationToken cancellation)
    {
        string state = result.GetValue(StateDirectory) ?? AgentDefaults.StateDirectory;
        // Without --model: the installed model the store recovers (OTA updates), else the embedded default.
        var settings = new AgentHost.StartOptions(result.GetValue(Model), result.GetValue(Urls) ?? AgentDefaults.Urls, state);
        ListenAddresses.EnsureFree(settings.Urls);
        await using var app = AgentHost.Build(settings, result.UnmatchedTokens.ToArray());
        await app.RunAsync(cancellation);
        return 0;
    }
}
