using System.Runtime.InteropServices;

namespace Edge.Runtime.Storage;

/// <summary>
/// fsync of a directory, which makes its entries (a new file, a rename) durable across a power
/// cut. .NET opens only files, so this goes to libc; on Windows it does nothing (NTFS journals
/// metadata, and there is no equivalent call).
/// </summary>
public static partial class DirectorySync
{
    private const int ReadOnly = 0;
    private const int DirectoryOnly = 0x10000; // O_DIRECTORY on Linux (x64 and arm64)

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int descriptor = Open(directory, ReadOnly | DirectoryOnly);
        if (descriptor < 0)
            throw new IOException($"Cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(descriptor) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
