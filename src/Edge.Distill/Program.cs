using System.CommandLine;
using Edge.Distill.Commands;

var root = new RootCommand("edge-distill: define, export and verify DeepSeek-architecture students for DeepSeekEdge.")
{
    InitCommand.Create(),
    ExportCommand.Create(),
    VerifyCommand.Create(),
};
return root.Parse(args).Invoke();
