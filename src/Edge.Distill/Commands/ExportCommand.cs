using System.CommandLine;
using Edge.Distill.Export;
using Edge.Distill.Gguf;

namespace Edge.Distill.Commands;

/// <summary>edge-distill export: checkpoint to an ONNX model package, or to a GGUF file for llama.cpp and Ollama.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (ours, or for gguf any Hugging Face folder import understands).", Required = true };
        var output = new Option<string>("--out") { Description = "Package folder (onnx) or .gguf file (gguf) to write; replaced if present.", Required = true };
        var format = new Option<ExportFormat>("--format") { Description = "onnx: a model package for deepseek-edge (default); gguf: one file for llama.cpp and Ollama.", DefaultValueFactory = _ => ExportFormat.Onnx };
        var type = new Option<GgufWeightType>("--type") { Description = "gguf only: weight matrices as F32 (default), F16, Q8_0 or Q4_0; vectors stay F32.", DefaultValueFactory = _ => GgufWeightType.F32 };
        var name = new Option<string>("--name") { Description = "Model name in the manifest.", DefaultValueFactory = _ => "deepseek-edge" };
        var version = new Option<string>("--version") { Description = "Model version in the manifest.", DefaultValueFactory = _ => "0.1.0" };
        var layout = new Option<CacheLayout>("--cache-layout")
        {
            Description = "shared: one fixed buffer per cache tensor, updated in place (default; allows batching); concat: present = concat(past, new).",
            DefaultValueFactory = _ => CacheLayout.Shared,
        };
        var command = new Command("export", "Export a checkpoint as an ONNX model package with a KV cache, or as a GGUF file.") { checkpoint, output, format, type, name, version, layout };
        command.SetAction(result =>
        {
            string from = result.GetValue(checkpoint)!, to = result.GetValue(output)!;
            if (result.GetValue(format) == ExportFormat.Gguf)
            {
                string architecture = CheckpointGgufExporter.Export(from, to, result.GetValue(type), result.GetValue(name)!);
                Console.WriteLine($"Wrote {to}: {new FileInfo(to).Length / 1e6:F1} MB, llama.cpp architecture {architecture}, weights {result.GetValue(type)}.");
                return 0;
            }
            var manifest = PackageExporter.Export(from, to, result.GetValue(name)!, result.GetValue(version)!, result.GetValue(layout));
            long bytes = manifest.Files.Sum(f => f.Bytes);
            Console.WriteLine($"Wrote {to}: {manifest.Files.Count} files, {bytes / 1e6:F1} MB, {manifest.Architecture.Parameters:N0} parameters.");
            Console.WriteLine($"Smoke test: \"{manifest.SmokeTest!.Prompt}\" -> [{string.Join(", ", manifest.SmokeTest.ExpectedIds)}]");
            return 0;
        });
        return command;
    }
}

internal enum ExportFormat
{
    Onnx,
    Gguf,
}
