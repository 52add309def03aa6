namespace Edge.Distill.Checkpoints;

/// <summary>
/// Conversions hold one tensor at a time, but .NET frees large arrays only when its large-object
/// budget runs out, and on a machine with plenty of memory that budget lets gigabytes of finished
/// tensors pile up (an import of a 1.5B model peaked at 9.7 GB that way). Collecting before each
/// large read keeps the peak near the tensors actually in use; a collection costs milliseconds
/// because little else is alive.
/// </summary>
internal static class TensorMemory
{
    private const long LargeBytes = 32 << 20;

    public static void BeforeRead(long bytes)
    {
        if (bytes >= LargeBytes)
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
    }
}
