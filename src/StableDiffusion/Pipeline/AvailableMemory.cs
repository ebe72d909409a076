using System.Globalization;
using StableDiffusion.Models;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The memory a generation may still take on its device. The CPU: the least of the system's available memory
/// (/proc/meminfo MemAvailable), what the process's cgroup limit leaves (v2 memory.max − memory.current, or v1), and what
/// the .NET runtime sees; elsewhere the runtime's view. CUDA: the device's free memory. Memory this pipeline's own
/// runs took since its first check is added back: ONNX Runtime keeps it in its arena and reuses it.
/// </summary>
public sealed class AvailableMemory(ExecutionProvider provider, int deviceId)
{
    private long? _baselineInUse;

    /// <summary>"the CPU" or "CUDA device 0": where the memory is (what errors name).</summary>
    public string Device { get; } = provider is ExecutionProvider.Cuda or ExecutionProvider.TensorRT ? $"CUDA device {deviceId}" : "the CPU";

    /// <summary>Bytes available now, or null when they cannot be known (no check then).</summary>
    public long? Query()
    {
        var (free, inUse) = provider is ExecutionProvider.Cuda or ExecutionProvider.TensorRT ? Device0() : Cpu();
        if (free is null) return null;
        _baselineInUse ??= inUse;
        long reusable = Math.Max(0, inUse - _baselineInUse.Value);
        return free + reusable;
    }

    private (long?, long) Device0()
    {
        try
        {
            return DeviceMemory.Query(deviceId) is var (used, total) ? (total - used, used) : (null, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return (null, 0);
        }
    }

    private static (long?, long) Cpu()
    {
        long inUse = Environment.WorkingSet;
        var gc = GC.GetGCMemoryInfo();
        long? free = null;
        if (OperatingSystem.IsLinux())
        {
            free = Min(free, MemInfoAvailable());
            free = Min(free, CgroupFree());
        }
        else if (gc.MemoryLoadBytes > 0)
        {
            free = gc.TotalAvailableMemoryBytes - gc.MemoryLoadBytes;
        }
        // The runtime's limit (a container's, or DOTNET_GCHeapHardLimit) caps the float arrays we allocate ourselves.
        if (gc.TotalAvailableMemoryBytes > 0) free = Min(free, gc.TotalAvailableMemoryBytes - GC.GetTotalMemory(false));
        return (free is { } f ? Math.Max(0, f) : null, inUse);
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static long? MemInfoAvailable()
    {
        foreach (var line in ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                && long.TryParse(line["MemAvailable:".Length..].Replace("kB", "").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long kb))
                return kb * 1024;
        return null;
    }

    /// <summary>What the process's cgroup lets it take still (null: no limit, or no cgroup files).</summary>
    private static long? CgroupFree()
    {
        // cgroup v2: "0::/some/path" in /proc/self/cgroup names the group under /sys/fs/cgroup.
        foreach (var line in ReadLines("/proc/self/cgroup"))
        {
            if (!line.StartsWith("0::", StringComparison.Ordinal)) continue;
            string dir = Path.Combine("/sys/fs/cgroup", line[3..].TrimStart('/'));
            if (ReadNumber(Path.Combine(dir, "memory.max")) is { } max && ReadNumber(Path.Combine(dir, "memory.current")) is { } current)
                return max - current;
        }
        if (ReadNumber("/sys/fs/cgroup/memory.max") is { } rootMax && ReadNumber("/sys/fs/cgroup/memory.current") is { } rootCurrent)
            return rootMax - rootCurrent;
        // cgroup v1: "4:memory:/some/path" names the group under /sys/fs/cgroup/memory; a limit near long.MaxValue means none.
        foreach (var line in ReadLines("/proc/self/cgroup"))
        {
            int at = line.IndexOf(":memory:", StringComparison.Ordinal);
            if (at < 0) continue;
            string dir = Path.Combine("/sys/fs/cgroup/memory", line[(at + ":memory:".Length)..].TrimStart('/'));
            if (!File.Exists(Path.Combine(dir, "memory.limit_in_bytes"))) dir = "/sys/fs/cgroup/memory"; // a namespaced view
            if (ReadNumber(Path.Combine(dir, "memory.limit_in_bytes")) is { } limit && limit < 1L << 60
                && ReadNumber(Path.Combine(dir, "memory.usage_in_bytes")) is { } usage)
                return limit - usage;
        }
        return null;
    }

    private static long? ReadNumber(string path)
    {
        var text = ReadLines(path).FirstOrDefault()?.Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null; // "max": no limit
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllLines(path) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
