using System.Runtime.InteropServices;

namespace Edge.Runtime.Storage;

/// <summary>
/// The two POSIX calls crash-safe updates rest on, which .NET does not expose: fsync of a
/// directory (its entries, a new file or a rename, survive a power cut) and rename(2) of any
/// entry, symbolic links included, atomically over another. Linux only (the devices); elsewhere
/// the flush does nothing and the rename falls back to a non-atomic move.
/// </summary>
public static partial class DurableFileSystem
{
    private const int ReadOnly = 0;
    private const int DirectoryOnly = 0x10000; // O_DIRECTORY on Linux (x64 and arm64)

    public static void FlushDirectory(string directory)
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

    /// <summary>Replaces <paramref name="destination"/> with <paramref name="source"/> in one step: readers see the old or the new, never neither.</summary>
    public static void ReplaceAtomically(string source, string destination)
    {
        if (!OperatingSystem.IsLinux())
        {
            File.Move(source, destination, overwrite: true);
            return;
        }
        if (Rename(source, destination) != 0)
            throw new IOException($"rename {source} -> {destination} failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    /// <summary>Writes a small file so that a power cut leaves the old content or the new, whole: temporary file, fsync, rename over, directory fsync.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temporary = path + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }
            ReplaceAtomically(temporary, path);
        }
        catch
        {
            // A full disk must not leave half a file behind next to the good one.
            File.Delete(temporary);
            throw;
        }
        FlushDirectory(directory);
    }

    /// <summary>Whether the disk refused for lack of room: ENOSPC (28) or EDQUOT (122), which .NET carries as the HResult on Unix.</summary>
    public static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 122;

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Rename(string source, string destination);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
