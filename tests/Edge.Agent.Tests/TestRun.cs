using Edge.TestSupport;

namespace Edge.Agent.Tests;

/// <summary>What this assembly's test run sets up and tears down: its temporary files go in one folder, removed at the end (<see cref="TestTemporaryFolder"/>).</summary>
[TestClass]
public static class TestRun
{
    [AssemblyInitialize]
    public static void Begin(TestContext _) => TestTemporaryFolder.Begin("edge-agent-tests");

    [AssemblyCleanup]
    public static void End() => TestTemporaryFolder.End();
}
