namespace Edge.TestSupport;

/// <summary>
/// Gives a test assembly's run its own temporary folder and removes it at the end: tests make
/// packages, bundles, state folders and daemons' files under the temporary path, and a run of the
/// suite left over a thousand folders in /tmp. TMPDIR is set for this process, and so for every
/// daemon, node and tool process the tests start.
/// </summary>
public static class TestTemporaryFolder
{
    private static string? s_folder;

    public static void Begin(string assembly)
    {
        s_folder = Directory.CreateTempSubdirectory($"{assembly}-").FullName;
        Environment.SetEnvironmentVariable("TMPDIR", s_folder);
    }

    public static void End()
    {
        if (s_folder is null)
            return;
        try
        {
            Directory.Delete(s_folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove the test run's temporary folder {s_folder}: {e.Message}");
        }
    }
}
