namespace Edge.Distill.Export;

/// <summary>
/// The folder a command writes its result to is replaced (deleted first); it must be neither the
/// input nor a folder holding it, or the input is gone before it is read. Compared after resolving
/// relative parts, trailing separators and a symbolic link at either path.
/// </summary>
internal static class PackageOutput
{
    public static void RefuseOverlap(string output, string input, string inputOption)
    {
        string o = Canonical(output), i = Canonical(input);
        if (i == o || i.StartsWith(o + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"--out {output} is {(i == o ? "" : "a folder holding ")}{inputOption} {input}: it is replaced, so the input would be deleted. Write somewhere else.");
    }

    private static string Canonical(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        FileSystemInfo entry = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return entry.LinkTarget is null ? full : Path.TrimEndingDirectorySeparator(entry.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full);
    }
}
