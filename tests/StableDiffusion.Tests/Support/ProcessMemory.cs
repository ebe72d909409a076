namespace StableDiffusion.Tests.Support;

/// <summary>
/// The process's resident memory (Linux /proc/self/status), for tests that measure native allocations; they run alone,
/// after the parallel ones, so that no other class allocates meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemory
{
    public const string Name = "Process memory";

    /// <summary>VmRSS in bytes after a full collection (managed garbage freed), or null where /proc is not there.</summary>
    public static long? Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!File.Exists("/proc/self/status")) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return null;
    }
}
