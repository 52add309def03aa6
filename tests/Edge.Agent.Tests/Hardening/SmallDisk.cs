using System.Diagnostics;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// A really small file system (a tmpfs with a size limit, mounted for the test) that a test can
/// fill to the last byte. Mounting needs root, which CI and the developers' machines have.
/// </summary>
internal sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    public static SmallDisk Mount(int kilobytes)
    {
        if (Environment.UserName != "root")
            Assert.Inconclusive("mounting a small tmpfs needs root");
        string path = Directory.CreateTempSubdirectory("dsedge-small-disk").FullName;
        Run("mount", $"-t tmpfs -o size={kilobytes}k,mode=0755 tmpfs {path}");
        return new SmallDisk(path);
    }

    /// <summary>Writes until the disk refuses with ENOSPC.</summary>
    public void Fill()
    {
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // full
        }
        // Small writes of the last partial block too.
        try
        {
            while (true)
            {
                file.Write(block, 0, 1);
                file.Flush();
            }
        }
        catch (IOException)
        {
        }
    }

    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", $"-l {Path}");
        Directory.Delete(Path, recursive: true);
    }

    private static void Run(string command, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"{command} {arguments}: {error}");
    }
}
