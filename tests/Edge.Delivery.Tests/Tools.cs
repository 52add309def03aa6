using System.Diagnostics;
using Edge.TestSupport;

namespace Edge.Delivery.Tests;

/// <summary>
/// What test.sh built before the tests ran (cross-compile/build.sh, firmware/build-deb.sh), and
/// running the command-line tools the checks use.
/// </summary>
internal static class Delivery
{
    public static string Artifacts => Path.Combine(RepositoryPaths.Root, "artifacts");

    public static string Version { get; } = System.Text.RegularExpressions.Regex.Match(
        File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Directory.Build.props")), "<Version>(.*)</Version>").Groups[1].Value;

    public static string Package(string arch)
    {
        string path = Path.Combine(Artifacts, $"deepseek-edge_{Version}_{arch}.deb");
        return File.Exists(path) ? path : throw new AssertFailedException($"{path} is missing: test.sh builds it (cross-compile/build.sh, then firmware/build-deb.sh).");
    }

    /// <summary>The package's files, unpacked into a new folder.</summary>
    public static string Unpack(string arch)
    {
        string folder = Directory.CreateTempSubdirectory($"dsedge-deb-{arch}").FullName;
        Run("dpkg-deb", ["-x", Package(arch), folder]);
        return folder;
    }

    public static (int ExitCode, string Output) Run(string file, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, bool check = true)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        string text = output.Result + errors.Result;
        if (check && process.ExitCode != 0)
            throw new AssertFailedException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{text}");
        return (process.ExitCode, text);
    }
}
