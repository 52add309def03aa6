using Edge.Distill.Export;

namespace Edge.Distill.Tests;

/// <summary>Runs edge-distill's real entry point in process, as the shell would, and returns its exit code.</summary>
internal static class DistillCli
{
    public static int Run(params string[] args) => (int)typeof(PackageExporter).Assembly.EntryPoint!.Invoke(null, [args])!;
}
