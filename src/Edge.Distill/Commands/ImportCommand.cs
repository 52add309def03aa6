using Edge.Distill.Checkpoints;
using System.CommandLine;
using Edge.Distill.Import;
using Edge.Distill.Quantization;

namespace Edge.Distill.Commands;

/// <summary>edge-distill import: a published checkpoint (a Hugging Face folder) to a model package the daemon serves.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "A GGUF v3 file (deepseek2, qwen2, llama) or a Hugging Face model folder (config.json, model.safetensors or its shards with model.safetensors.index.json, tokenizer.json, tokenizer_config.json, generation_config.json).", Required = true };
        var output = new Option<string>("--out") { Description = "Package folder to write (replaced if present).", Required = true };
        var quantize = new Option<string>("--quantize") { Description = "auto (default: fp32 from a Hugging Face folder; from a GGUF, int4 for Q4_0/Q4_K weights and int8 for Q8_0/Q6_K, fp32 otherwise), none (fp32), int8 or int4 (MatMulNBits, block 32; GGUF Q8_0/Q4_0 blocks are carried bit for bit), qdq8 (per-channel INT8 through DequantizeLinear).", DefaultValueFactory = _ => "auto" };
        // 4 by default: int8 activations are what llama.cpp computes with too, and at 1.5B they made
        // int4 decode 1.8x faster here (docs/engine.md); quantize keeps 0 for the trained student's measured accuracy.
        var accuracy = new Option<int>("--accuracy-level") { Description = "MatMulNBits accuracy_level for int8/int4: 4 (default: int8 activations, ONNX Runtime's integer dot-product kernels) or 0 (fp32 activations).", DefaultValueFactory = _ => 4 };
        var context = new Option<int>("--context") { Description = "Positions the package serves (every batch slot reserves them); capped at the config's max_position_embeddings.", DefaultValueFactory = _ => 4096 };
        var name = new Option<string>("--name") { Description = "Model name in the manifest.", DefaultValueFactory = _ => HuggingFaceImporter.DefaultName };
        var version = new Option<string>("--version") { Description = "Model version in the manifest.", DefaultValueFactory = _ => "0.1.0" };
        var command = new Command("import", $"Import a Hugging Face checkpoint ({string.Join(", ", HuggingFaceConfig.ModelTypes)}) or a GGUF file ({string.Join(", ", GgufConfig.Architectures)}) as a model package.") { from, output, quantize, accuracy, context, name, version };
        command.SetAction(result =>
        {
            if (result.GetValue(context) is < 16 or > 1 << 20)
                throw new ArgumentException($"--context {result.GetValue(context)} is outside 16..{1 << 20}.");
            var plan = result.GetValue(quantize) switch
            {
                "none" or "auto" => null,
                "int8" => new QuantizationPlan(8, 32, RangeMethod.MinMax),
                "int4" => new QuantizationPlan(4, 32, RangeMethod.MinMax),
                "qdq8" => new QuantizationPlan(8, 32, RangeMethod.MinMax, QuantizationScheme.Qdq),
                var other => throw new ArgumentException($"--quantize '{other}' is not auto, none, int8, int4 or qdq8."),
            };
            if (result.GetValue(accuracy) is not (0 or 4))
                throw new ArgumentException($"--accuracy-level must be 0 or 4, not {result.GetValue(accuracy)}.");
            var manifest = HuggingFaceImporter.Import(new ImportRequest(result.GetValue(from)!, result.GetValue(output)!, plan, result.GetValue(context), result.GetValue(name)!, result.GetValue(version)!)
            {
                QuantizeAsStored = result.GetValue(quantize) == "auto",
                AccuracyLevel = result.GetValue(accuracy),
            });
            Console.WriteLine($"Wrote {result.GetValue(output)}: {manifest.Architecture.ModelType}, {manifest.Architecture.Parameters:N0} parameters, context {manifest.Architecture.ContextLength}, {manifest.Files.Sum(f => f.Bytes) / 1e6:F1} MB, {manifest.Quantization}.");
            Console.WriteLine($"Source: {manifest.Source?.Origin} ({manifest.Source?.Dtype}; {manifest.Source?.Conversion}).");
            return 0;
        });
        return command;
    }
}
