using Edge.Distill.Export;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Quantization;

/// <summary>
/// A quantized copy of a model package: the graph rewritten by <see cref="OnnxQuantizer"/>, every
/// other file copied, the manifest re-pinned with the scheme recorded in <c>quantization</c>, and
/// the smoke test re-taken from the quantized model (its greedy ids may differ from fp32's).
/// </summary>
internal static class PackageQuantizer
{
    public static (ModelManifest Manifest, QuantizationSummary Summary) Quantize(string input, string output, QuantizationPlan plan)
    {
        var source = ModelPackage.Open(input);
        if (source.Manifest.Quantization is { } existing && !existing.StartsWith("none", StringComparison.Ordinal))
            throw new InvalidDataException($"{input} is already quantized ({existing}); quantize the fp32 package.");
        PackageOutput.RefuseOverlap(output, input, "--in");
        if (Directory.Exists(output))
            Directory.Delete(output, recursive: true);
        Directory.CreateDirectory(output);
        foreach (var file in source.Manifest.Files)
        {
            if (file.Path != source.GenAi.Model.Decoder.Filename && file.Path != source.GenAi.Model.Decoder.Filename + ".data")
                File.Copy(Path.Combine(source.Directory, file.Path), Path.Combine(output, file.Path));
        }
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(source.DecoderPath));
        // A package whose weights live beside the graph (an import) keeps them there: each tensor is
        // read, rewritten and written on its own, so memory holds one matrix, not the model.
        string decoder = Path.Combine(output, source.GenAi.Model.Decoder.Filename);
        bool external = model.Graph.Initializer.Any(InitializerReader.IsExternal);
        QuantizationSummary summary;
        using (var weights = new InitializerReader(source.Directory))
        using (var sideFile = external ? new ExternalData(decoder) : null)
            summary = new OnnxQuantizer(plan, weights, sideFile).Quantize(model);
        File.WriteAllBytes(decoder, Google.Protobuf.MessageExtensions.ToByteArray(model));

        var manifest = ModelPackage.WriteManifest(output, files => source.Manifest with { Files = files, Quantization = summary.Description, Created = DateTimeOffset.UtcNow, SmokeTest = null });
        return (PackageExporter.WithSmokeTest(output, manifest), summary);
    }
}
