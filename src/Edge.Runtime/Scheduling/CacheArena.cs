using System.Runtime.InteropServices;

namespace Edge.Runtime.Scheduling;

/// <summary>
/// One cache tensor's rows for every batch slot, [slots, rowBytes], as reserved address space
/// that the kernel backs with memory page by page when positions are first written, and takes
/// back when a slot is released. The graph still sees one contiguous buffer per cache, so the
/// attention kernels need no block tables: memory follows the tokens actually held, and 32 idle
/// slots cost address space, not RAM (the idea of vAttention, Prabhu et al. 2024, without a
/// paged-attention kernel). Zero-filled like calloc: a released page reads back as zeros.
/// </summary>
internal sealed unsafe partial class CacheArena : IDisposable
{
    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const int MadvDontNeed = 4, MadvNoHugePage = 15;
    private static readonly long s_pageSize = Environment.SystemPageSize;

    private readonly bool _mapped;
    private readonly long _bytes;
    private byte* _base;

    public CacheArena(int slots, long rowBytes)
    {
        RowBytes = rowBytes;
        _bytes = checked(slots * rowBytes);
        if (OperatingSystem.IsLinux())
        {
            // NORESERVE: a 4k-context, 32-slot reservation can exceed RAM + swap; only touched pages count.
            var address = Mmap(null, (nuint)_bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
            if (address == (void*)-1)
                throw new InsufficientMemoryException($"Could not reserve {_bytes:N0} bytes of address space for the KV cache (errno {Marshal.GetLastPInvokeError()}).");
            _base = (byte*)address;
            _mapped = true;
            // Where transparent huge pages are "always" (some L4T and desktop kernels), the first write
            // would commit 2 MiB at once: memory is to follow tokens page by page. Advice only; if the
            // kernel refuses it, the arena still works at its granularity.
            _ = Madvise(_base, (nuint)_bytes, MadvNoHugePage);
        }
        else
        {
            _base = (byte*)NativeMemory.AllocZeroed((nuint)_bytes);
        }
    }

    public long RowBytes { get; }

    public IntPtr Base => (IntPtr)_base;

    public IntPtr Row(int slot) => (IntPtr)(_base + slot * RowBytes);

    /// <summary>
    /// Gives a slot's memory back to the system; its rows read as zeros afterwards. Pages the slot
    /// shares with a neighbour's row (at most one at each end) stay, so a neighbour loses nothing.
    /// </summary>
    public void Release(int slot)
    {
        long start = slot * RowBytes, end = start + RowBytes;
        long first = (start + s_pageSize - 1) / s_pageSize * s_pageSize, last = end / s_pageSize * s_pageSize;
        if (_mapped && last > first && Madvise(_base + first, (nuint)(last - first), MadvDontNeed) != 0)
            throw new InvalidOperationException($"madvise could not release slot {slot}'s cache pages (errno {Marshal.GetLastPInvokeError()}).");
        // Elsewhere (and in the shared edge pages) nothing is returned; the stale rows are masked out.
    }

    /// <summary>
    /// Bytes of the arena in RAM now, as the kernel's page tables say (/proc/self/pagemap): pages
    /// present and mapped by this process alone. Pages only ever read map the kernel's shared zero
    /// page, which costs nothing and is not counted. -1 where the kernel cannot tell.
    /// </summary>
    public long ResidentBytes()
    {
        if (!_mapped)
            return -1;
        const ulong present = 1UL << 63, exclusive = 1UL << 56;
        long pages = (_bytes + s_pageSize - 1) / s_pageSize;
        long firstPage = (long)_base / s_pageSize, resident = 0;
        // In windows of pages, so that a 20 GB reservation needs a 512 KB buffer, not 40 MB.
        var entries = new ulong[1 << 16];
        try
        {
            using var pagemap = File.OpenHandle("/proc/self/pagemap");
            for (long page = 0; page < pages; page += entries.Length)
            {
                int count = (int)Math.Min(entries.Length, pages - page);
                var bytes = MemoryMarshal.AsBytes(entries.AsSpan(0, count));
                if (RandomAccess.Read(pagemap, bytes, (firstPage + page) * sizeof(ulong)) != bytes.Length)
                    return -1;
                foreach (ulong entry in entries.AsSpan(0, count))
                {
                    if ((entry & (present | exclusive)) == (present | exclusive))
                        resident++;
                }
            }
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
        return resident * s_pageSize;
    }

    public void Dispose()
    {
        if (_base is null)
            return;
        if (_mapped)
            _ = Munmap(_base, (nuint)_bytes); // fails only for a bad range, which this one is not
        else
            NativeMemory.Free(_base);
        _base = null;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(void* address, nuint length, int advice);
}
