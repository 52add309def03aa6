using Edge.Distill.Onnx;
using Edge.Runtime;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Edge.Runtime.Tokenization;
using Edge.TestSupport;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = Edge.Distill.Onnx.Proto.TensorProto.Types.DataType;

namespace Edge.Distill.Tests;

/// <summary>
/// Graphs that break the runtime's conventions, written with our ONNX writer, are refused at
/// load by Edge.Runtime with a message naming the file and what is wrong.
/// </summary>
[TestClass]
public sealed class ModelConventionTests
{
    private static string Write(Action<OnnxGraphBuilder> build)
    {
        var g = new OnnxGraphBuilder();
        build(g);
        string path = Path.Combine(Directory.CreateTempSubdirectory("bad-graph").FullName, "model.onnx");
        using var file = File.Create(path);
        g.Build("test graph").WriteTo(file);
        return path;
    }

    private static ModelLoadException Refusal(string path)
    {
        using var options = new SessionOptions();
        return Assert.ThrowsExactly<ModelLoadException>(() => ModelSession.Open(path, options));
    }

    [TestMethod]
    public void AModelWithoutLogitsIsRefused()
    {
        string path = Write(g =>
        {
            g.Input("input_ids", DataType.Int64, "batch", "sequence");
            g.Input("attention_mask", DataType.Int64, "batch", "total");
            g.OpNamed("Cast", "scores", ["input_ids"], ("to", (long)DataType.Float));
            g.Output("scores", DataType.Float, "batch", "sequence");
        });
        var error = Refusal(path);
        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, "no 'logits' output");
    }

    [TestMethod]
    public void APastWithoutAPresentIsRefused()
    {
        string path = Write(g =>
        {
            g.Input("input_ids", DataType.Int64, "batch", "sequence");
            g.Input("attention_mask", DataType.Int64, "batch", "total");
            g.Input("past_key_values.0.key", DataType.Float, "batch", "past", 4);
            g.OpNamed("Cast", "ids_float", ["input_ids"], ("to", (long)DataType.Float));
            g.OpNamed("Unsqueeze", "logits", ["ids_float", g.Int64s(-1)]);
            g.OpNamed("Identity", "unused", ["past_key_values.0.key"]);
            g.Output("logits", DataType.Float, "batch", "sequence", 1);
            g.Output("unused", DataType.Float, "batch", "past", 4);
        });
        var error = Refusal(path);
        StringAssert.Contains(error.Message, "input 'past_key_values.0.key' has no matching output 'present.0.key'");
    }

    [TestMethod]
    public void AModelWithoutInputIdsIsRefused()
    {
        string path = Write(g =>
        {
            g.Input("tokens", DataType.Int64, "batch", "sequence");
            g.Input("attention_mask", DataType.Int64, "batch", "total");
            g.OpNamed("Cast", "logits", ["tokens"], ("to", (long)DataType.Float));
            g.Output("logits", DataType.Float, "batch", "sequence");
        });
        StringAssert.Contains(Refusal(path).Message, "no 'input_ids' input");
    }

    [TestMethod]
    public void MalformedPackageFilesAreRefusedNamingTheFile()
    {
        string package = Directory.CreateTempSubdirectory("bad-package").FullName;
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.DefaultModel))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));

        File.WriteAllText(Path.Combine(package, "tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\"}, \"decoder\": null}");
        var tokenizerError = Assert.ThrowsExactly<ModelLoadException>(() => ModelTokenizer.Load(package));
        StringAssert.Contains(tokenizerError.Message, "tokenizer.json");
        StringAssert.Contains(tokenizerError.Message, "WordPiece");
        File.WriteAllText(Path.Combine(package, "tokenizer.json"), "{ broken");
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelTokenizer.Load(package)).Message, "tokenizer.json is not valid JSON");

        File.WriteAllText(Path.Combine(package, "genai_config.json"), "{\"model\": 5}");
        // The manifest pins the original bytes, so the package is refused before the JSON is even read.
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(package)).Message, "genai_config.json");
        // Re-pinned, so the manifest is fine and the JSON itself is what is wrong.
        var manifest = ModelPackage.Open(RepositoryPaths.DefaultModel).Manifest;
        ModelPackage.WriteManifest(package, files => manifest with { Files = files });
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(package)).Message, "genai_config.json is malformed");
        Directory.Delete(package, recursive: true);
    }
}
