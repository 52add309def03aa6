using System.CommandLine;
using Edge.Distill.Commands;
using Edge.Runtime;

var root = new RootCommand("edge-distill: define, export and verify DeepSeek-architecture students for DeepSeekEdge.")
{
    InitCommand.Create(),
    VocabCommand.Create(),
    DataCommand.Create(),
    TrainCommand.Create(),
    ExportCommand.Create(),
    ImportCommand.Create(),
    QuantizeCommand.Create(),
    EvalCommand.Create(),
    RecipeCommand.Create(),
    VerifyCommand.Create(),
    BundleCommands.CreateKeygen(),
    BundleCommands.CreatePack(),
};
var parsed = root.Parse(args);
parsed.InvocationConfiguration.EnableDefaultExceptionHandler = false;
try
{
    return parsed.Invoke();
}
catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or ModelLoadException or Edge.Runtime.Bundles.BundleException
    or Edge.Distill.Training.TrainingDivergedException)
{
    Console.Error.WriteLine($"edge-distill: {e.Message}");
    return 2;
}
