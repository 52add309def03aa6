using System.CommandLine;
using Edge.Agent.Commands;
using Edge.Runtime;
using Edge.Runtime.Inference;

var root = new RootCommand("deepseek-edge: a DeepSeek-architecture language model served on the edge.")
{
    ServeCommand.Model,
    ServeCommand.Urls,
    ServeCommand.StateDirectory,
};
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(TokenizeCommands.CreateTokenize());
root.Subcommands.Add(TokenizeCommands.CreateDetokenize());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(TokenizerBenchCommand.Create());
root.Subcommands.Add(MqttBenchCommand.Create());
root.Subcommands.Add(FleetCommand.Create());
root.Subcommands.Add(VerifyBundleCommand.Create());
root.Subcommands.Add(KeyCommands.CreateNewKey());
root.Subcommands.Add(KeyCommands.CreateHashKey());
root.SetAction((result, cancellation) => ServeCommand.RunAsync(result, cancellation));
root.TreatUnmatchedTokensAsErrors = false;

var parsed = root.Parse(args);
parsed.InvocationConfiguration.EnableDefaultExceptionHandler = false;
try
{
    return await parsed.InvokeAsync();
}
catch (Exception e) when (e is ModelLoadException or GenerationRequestException or Edge.Agent.Configuration.ConfigurationException or Edge.Runtime.Bundles.BundleException)
{
    Console.Error.WriteLine($"deepseek-edge: {e.Message}");
    return 2;
}
catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
{
    // The port is taken: one line, not a stack trace.
    Console.Error.WriteLine($"deepseek-edge: cannot listen: {e.Message.TrimEnd('.')}. Choose another with --urls.");
    return 2;
}
