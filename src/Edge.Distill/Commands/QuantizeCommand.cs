using System.CommandLine;
using Edge.Distill.Quantization;

namespace Edge.Distill.Commands;

/// <summary>edge-distill quantize: weight-only INT8 / INT4 block-wise (MatMulNBits) or dynamic INT8 (MatMulInteger) quantization of a package.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--in") { Description = "fp32 model package.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the quantized package (replaced if present).", Required = true };
        var mode = new Option<string>("--mode") { Description = "int8 or int4 (the MatMul and expert weights; the tied embedding / LM head is always INT8 per row).", Required = true };
        var block = new Option<int>("--block-size") { Description = "Weights per scale along the input dimension: 16, 32, 64 or 128.", DefaultValueFactory = _ => 32 };
        var method = new Option<string>("--method") { Description = "minmax (no clipping) or mse (per-block clipping that minimises the rounding error).", DefaultValueFactory = _ => "minmax" };
        var scheme = new Option<string>("--scheme")
        {
            Description = "weight-only (MatMulNBits, activations fp32), qdq (int8 only: per-channel weights through DequantizeLinear + MatMul) or dynamic (int8 only: DynamicQuantizeLinear + MatMulInteger, integer products; per-tensor activation scales, check perplexity).",
            DefaultValueFactory = _ => "weight-only",
        };
        var accuracy = new Option<int>("--accuracy-level") { Description = "MatMulNBits accuracy_level for int8/int4: 0 (fp32 activations) or 4 (int8 activations: ONNX Runtime's integer dot-product kernels).", DefaultValueFactory = _ => 0 };
        var calibration = new Option<string?>("--calibration") { Description = "Calibration shards: needed only by activation quantization and GPTQ, which this quantizer does not do (refused)." };
        var command = new Command("quantize", "Quantize a package's weights to INT8 or INT4 through ONNX Runtime's MatMulNBits, or to dynamic INT8 through MatMulInteger.")
        {
            input, output, mode, block, method, scheme, accuracy, calibration,
        };
        command.SetAction(result =>
        {
            int bits = result.GetValue(mode) switch
            {
                "int8" => 8,
                "int4" => 4,
                var other => throw new ArgumentException($"--mode '{other}' is not int8 or int4."),
            };
            var range = result.GetValue(method) switch
            {
                "minmax" => RangeMethod.MinMax,
                "mse" => RangeMethod.Mse,
                "percentile" or "entropy" => throw new ArgumentException($"--method {result.GetValue(method)} chooses an activation range from calibration data; this quantizer is weight-only (use minmax or mse)."),
                var other => throw new ArgumentException($"--method '{other}' is not minmax or mse."),
            };
            var chosenScheme = result.GetValue(scheme) switch
            {
                "weight-only" => QuantizationScheme.WeightOnly,
                "dynamic" when bits == 8 => QuantizationScheme.Dynamic,
                "qdq" when bits == 8 => QuantizationScheme.Qdq,
                "dynamic" or "qdq" => throw new ArgumentException($"--scheme {result.GetValue(scheme)} is INT8 only (per-channel 8-bit codes); use --mode int8."),
                var other => throw new ArgumentException($"--scheme '{other}' is not weight-only, qdq or dynamic."),
            };
            if (result.GetValue(calibration) is not null)
                throw new ArgumentException("--calibration is not used: weights are quantized round-to-nearest without calibration data (GPTQ-style error compensation is not implemented).");
            if (result.GetValue(accuracy) is not (0 or 4))
                throw new ArgumentException($"--accuracy-level must be 0 or 4, not {result.GetValue(accuracy)}.");
            if (result.GetValue(block) is not (16 or 32 or 64 or 128))
                throw new ArgumentException($"--block-size must be 16, 32, 64 or 128, not {result.GetValue(block)}.");
            var (manifest, summary) = PackageQuantizer.Quantize(result.GetValue(input)!, result.GetValue(output)!, new QuantizationPlan(bits, result.GetValue(block), range, chosenScheme, AccuracyLevel: result.GetValue(accuracy)));
            long before = Directory.EnumerateFiles(result.GetValue(input)!).Sum(f => new FileInfo(f).Length);
            long after = manifest.Files.Sum(f => f.Bytes);
            Console.WriteLine($"Wrote {result.GetValue(output)}: {summary.Description}.");
            Console.WriteLine($"{summary.QuantizedWeights:N0} weights quantized, {summary.FloatWeightsKept:N0} kept in fp32; package {after:N0} bytes (fp32 {before:N0}).");
            return 0;
        });
        return command;
    }
}
