using System.Diagnostics;

namespace Edge.TestSupport;

/// <summary>
/// Runs the built edge-distill as a process (the solution builds it before any test runs), for
/// tests outside its own project that need a real imported package.
/// </summary>
public static class DistillTool
{
    public static void Run(params string[] arguments)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        string tool = Path.Combine(RepositoryPaths.Root, "src", "Edge.Distill", "bin", configuration, "net10.0", "edge-distill.dll");
        if (!File.Exists(tool))
            throw new InvalidOperationException($"{tool} is missing: build the solution (dotnet test DeepSeekEdge.sln builds it).");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(tool);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"edge-distill {string.Join(' ', arguments)} failed ({process.ExitCode}): {errors}{output.Result}");
    }
}
