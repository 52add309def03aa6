using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Packaging;

/// <summary>A package is refused at load when any pinned file is wrong, with a message naming it.</summary>
[TestClass]
public sealed class ModelPackageTests
{
    private string _copy = null!;

    [TestInitialize]
    public void CopyDefaultModel()
    {
        _copy = Directory.CreateTempSubdirectory("edge-package-test").FullName;
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.DefaultModel))
            File.Copy(file, Path.Combine(_copy, Path.GetFileName(file)));
    }

    [TestCleanup]
    public void Delete() => Directory.Delete(_copy, recursive: true);

    [TestMethod]
    public void OpensTheDefaultModel()
    {
        var package = ModelPackage.Open(_copy);
        Assert.AreEqual("deepseek_v3", package.Manifest.Architecture.ModelType);
        Assert.IsNotNull(package.Manifest.SmokeTest);
    }

    [TestMethod]
    public void RefusesAFileWhoseBytesChanged()
    {
        string path = Path.Combine(_copy, "model.onnx");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        var error = Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy));
        StringAssert.Contains(error.Message, "model.onnx has sha256");
    }

    [TestMethod]
    public void RefusesATruncatedFile()
    {
        string path = Path.Combine(_copy, "tokenizer.json");
        File.WriteAllText(path, "{}");
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy)).Message, "tokenizer.json has 2 bytes");
    }

    [TestMethod]
    public void RefusesAMissingFile()
    {
        File.Delete(Path.Combine(_copy, "genai_config.json"));
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy)).Message, "genai_config.json is listed");
    }

    [TestMethod]
    public void RefusesAMalformedOrMissingManifest()
    {
        File.WriteAllText(Path.Combine(_copy, "manifest.json"), "{ not json");
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy)).Message, "manifest.json is malformed");
        File.Delete(Path.Combine(_copy, "manifest.json"));
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy)).Message, "manifest.json is missing");
    }

    [TestMethod]
    public void RefusesAManifestThatPointsOutsideThePackage()
    {
        string manifest = File.ReadAllText(Path.Combine(_copy, "manifest.json")).Replace("\"path\": \"config.json\"", "\"path\": \"../config.json\"");
        File.WriteAllText(Path.Combine(_copy, "manifest.json"), manifest);
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => ModelPackage.Open(_copy)).Message, "outside the package");
    }

    [TestMethod]
    public void RefusesADirectoryThatIsNotThere() =>
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => InferenceEngine.Load(Path.Combine(_copy, "nope"))).Message, "does not exist");
}
