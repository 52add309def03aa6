using Edge.Runtime.Inference;
using Edge.TestSupport;

namespace Edge.Runtime.Tests;

/// <summary>
/// The default model, loaded once for the test classes that only read it (engines are safe to
/// share: every generation owns its state), and released when the assembly's tests end.
/// </summary>
public static class DefaultEngine
{
    private static readonly Lazy<InferenceEngine> s_engine = new(() => InferenceEngine.Load(RepositoryPaths.DefaultModel));

    public static InferenceEngine Instance => s_engine.Value;

    /// <summary>Called when the assembly's tests end (<see cref="TestRun"/>).</summary>
    public static void Release()
    {
        if (s_engine.IsValueCreated)
            s_engine.Value.Dispose();
    }
}
