using System.CommandLine;
using System.Globalization;
using Edge.Distill.Export;

namespace Edge.Distill.Commands;

/// <summary>edge-distill verify: the exported graph against the TorchSharp model.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder.", Required = true };
        var package = new Option<string>("--package") { Description = "Package folder exported from it.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Prompt to run.", DefaultValueFactory = _ => "DeepSeek on the edge: verify the exported graph." };
        var steps = new Option<int>("--steps") { Description = "Decode steps through the cache.", DefaultValueFactory = _ => 8 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest absolute logit difference allowed.", DefaultValueFactory = _ => ExportVerifier.DefaultTolerance };
        var command = new Command("verify", "Compare ONNX Runtime with TorchSharp: prefill, then decode steps through the cache.")
        {
            checkpoint, package, prompt, steps, tolerance,
        };
        command.SetAction(result =>
        {
            var report = ExportVerifier.Run(result.GetValue(checkpoint)!, result.GetValue(package)!, result.GetValue(prompt)!, result.GetValue(steps));
            double limit = result.GetValue(tolerance);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"prompt tokens {report.PromptTokens}, decode steps {report.DecodeSteps}, largest |logit| {report.MaxAbsLogit:G4}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"max abs logit difference: {report.MaxAbsDifference:E3} (limit {limit:E1})"));
            bool pass = report.MaxAbsDifference <= limit;
            Console.WriteLine(pass ? "PASS" : "FAIL");
            return pass ? 0 : 1;
        });
        return command;
    }
}
