using System.CommandLine;
using Edge.Distill.Export;

namespace Edge.Distill.Commands;

/// <summary>edge-distill export: checkpoint to model package.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder.", Required = true };
        var output = new Option<string>("--out") { Description = "Package folder to write (replaced if present).", Required = true };
        var name = new Option<string>("--name") { Description = "Model name in the manifest.", DefaultValueFactory = _ => "deepseek-edge" };
        var version = new Option<string>("--version") { Description = "Model version in the manifest.", DefaultValueFactory = _ => "0.1.0" };
        var layout = new Option<CacheLayout>("--cache-layout")
        {
            Description = "shared: one fixed buffer per cache tensor, updated in place (default; allows batching); concat: present = concat(past, new).",
            DefaultValueFactory = _ => CacheLayout.Shared,
        };
        var command = new Command("export", "Export a checkpoint as an ONNX model package with a KV cache.") { checkpoint, output, name, version, layout };
        command.SetAction(result =>
        {
            var manifest = PackageExporter.Export(result.GetValue(checkpoint)!, result.GetValue(output)!, result.GetValue(name)!, result.GetValue(version)!, result.GetValue(layout));
            long bytes = manifest.Files.Sum(f => f.Bytes);
            Console.WriteLine($"Wrote {result.GetValue(output)}: {manifest.Files.Count} files, {bytes / 1e6:F1} MB, {manifest.Architecture.Parameters:N0} parameters.");
            Console.WriteLine($"Smoke test: \"{manifest.SmokeTest!.Prompt}\" -> [{string.Join(", ", manifest.SmokeTest.ExpectedIds)}]");
            return 0;
        });
        return command;
    }
}
