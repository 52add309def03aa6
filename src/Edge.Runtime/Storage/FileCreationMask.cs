using System.Runtime.InteropServices;

namespace Edge.Runtime.Storage;

/// <summary>
/// The process's file creation mask. The daemon sets 077 at start, so every file and folder it
/// creates (state, cache, audit log, downloads, installed models) is its user's alone, whatever
/// umask it was started with (systemd's UMask=, a shell's 000).
/// </summary>
public static partial class FileCreationMask
{
    public const int OwnerOnly = 0x3F; // 077

    /// <returns>The mask that was in force before.</returns>
    public static int Set(int mask) => OperatingSystem.IsWindows() ? 0 : umask(mask);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int umask(int mask);
}
