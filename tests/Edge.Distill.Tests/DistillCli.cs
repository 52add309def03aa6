using Edge.Distill.Export;

namespace Edge.Distill.Tests;

/// <summary>Runs edge-distill's real entry point in process, as the shell would, and returns its exit code.</summary>
internal static class DistillCli
{
    public static int Run(params string[] args) => (int)typeof(PackageExporter).Assembly.EntryPoint!.Invoke(null, [args])!;

    /// <summary>Runs it and returns what it wrote to stderr too (the error messages).</summary>
    public static (int ExitCode, string Errors) RunCapturingErrors(params string[] args)
    {
        var errors = new StringWriter();
        var saved = Console.Error;
        Console.SetError(errors);
        try
        {
            return (Run(args), errors.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
