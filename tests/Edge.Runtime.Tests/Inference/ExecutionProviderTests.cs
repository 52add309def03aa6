using Edge.Runtime.Inference;
using Edge.Runtime.Providers;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Inference;

/// <summary>
/// Provider selection against the real ONNX Runtime NuGet build, which has the CPU provider only:
/// GPUs and Android's NNAPI are exactly the hardware this machine lacks.
/// </summary>
[TestClass]
public sealed class ExecutionProviderTests
{
    private static EngineOptions Options(string providers, bool strict = false) =>
        new() { ExecutionProviders = ExecutionProvider.ParseList(providers), StrictProviders = strict, StateDirectory = Path.GetTempPath() };

    [TestMethod]
    public void SkipsProvidersTheLibraryLacksAndRunsOnTheNextOne()
    {
        using var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel, Options("tensorrt,cuda,cpu"));
        Assert.AreEqual("cpu", engine.Provider);
        Assert.HasCount(2, engine.Warnings);
        StringAssert.Contains(engine.Warnings[0], "'tensorrt' is not available");
        StringAssert.Contains(engine.Warnings[1], "'cuda' is not available");
        Assert.HasCount(2, engine.Complete("Hello", new GenerationSettings { MaxTokens = 2, StopAtEos = false }).CompletionIds);
    }

    [TestMethod]
    public void StrictListsRefuseAMissingProvider()
    {
        var error = Assert.ThrowsExactly<ModelLoadException>(() => InferenceEngine.Load(RepositoryPaths.DefaultModel, Options("cuda,cpu", strict: true)));
        StringAssert.Contains(error.Message, "'cuda' is not available");
    }

    [TestMethod]
    public void NnapiIsExplainedAsAndroidOnly()
    {
        using var engine = InferenceEngine.Load(RepositoryPaths.DefaultModel, Options("nnapi,cpu"));
        StringAssert.Contains(engine.Warnings[0], "Android");
    }

    [TestMethod]
    public void UnknownProviderNamesAreRefused()
    {
        var error = Assert.ThrowsExactly<ModelLoadException>(() => InferenceEngine.Load(RepositoryPaths.DefaultModel, Options("tpu,cpu")));
        StringAssert.Contains(error.Message, "Unknown execution provider 'tpu'");
    }

    [TestMethod]
    public void AMissingNativeLibraryIsRefusedBeforeAnythingLoads() =>
        StringAssert.Contains(Assert.ThrowsExactly<ModelLoadException>(() => OnnxRuntimeLibrary.Use("/nonexistent/libonnxruntime.so")).Message, "does not exist");
}
