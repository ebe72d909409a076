namespace StableDiffusion.Models;

/// <summary>The GPU's memory use, through the CUDA runtime the CUDA provider loads (for benchmarks and diagnostics).</summary>
public static class DeviceMemory
{
    /// <summary>True when the CUDA runtime library loads.</summary>
    public static bool IsAvailable => CudaRuntime.IsAvailable;

    /// <summary>Bytes in use on the device (by every process) and its total, or null when CUDA is unavailable.</summary>
    public static (long Used, long Total)? Query(int deviceId = 0)
    {
        if (!CudaRuntime.IsAvailable) return null;
        var (free, total) = CudaRuntime.MemoryInfo(deviceId);
        return (total - free, total);
    }
}
