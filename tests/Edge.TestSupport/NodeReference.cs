using System.Diagnostics;

namespace Edge.TestSupport;

/// <summary>Runs a reference script of tools/reference (or another tools folder) under node: JSON in on stdin, JSON out on stdout.</summary>
public static class NodeReference
{
    public static string Run(string script, string inputJson) => Run(RepositoryPaths.ReferenceTools, script, inputJson);

    public static string Run(string tools, string script, string inputJson)
    {
        if (!Directory.Exists(Path.Combine(tools, "node_modules")))
            throw new InvalidOperationException($"{tools}/node_modules is missing: run 'npm ci' there (./test.sh does).");
        var start = new ProcessStartInfo("node", script)
        {
            WorkingDirectory = tools,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var input = new StreamWriter(process.StandardInput.BaseStream, new System.Text.UTF8Encoding(false)))
            input.Write(inputJson);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"node {script} failed ({process.ExitCode}): {Tail(stderr.Result)}");
        return stdout.Result;
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
