using System.Runtime.InteropServices;

namespace StableDiffusion.Models;

/// <summary>
/// The few CUDA runtime calls that ONNX Runtime's API does not offer: device buffers at fixed addresses (CUDA graphs
/// replay with the addresses they captured), copies into them, and the device's memory use. Uses the libcudart that
/// the CUDA provider itself loads.
/// </summary>
internal static unsafe class CudaRuntime
{
    private const int HostToDevice = 1, DeviceToHost = 2, ErrorMemoryAllocation = 2;

    private static readonly Lazy<Api> Loaded = new(Load, isThreadSafe: true);

    private sealed class Api
    {
        public delegate* unmanaged[Cdecl]<IntPtr*, nuint, int> Malloc;
        public delegate* unmanaged[Cdecl]<IntPtr, int> Free;
        public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, nuint, int, int> Memcpy;
        public delegate* unmanaged[Cdecl]<int, int> SetDevice;
        public delegate* unmanaged[Cdecl]<int> DeviceSynchronize;
        public delegate* unmanaged[Cdecl]<nuint*, nuint*, int> MemGetInfo;
        public delegate* unmanaged[Cdecl]<int, IntPtr> GetErrorString;
    }

    /// <summary>The CUDA runtime library names tried, CUDA 13 first.</summary>
    public static IReadOnlyList<string> LibraryNames { get; } = OperatingSystem.IsWindows()
        ? ["cudart64_13.dll", "cudart64_130.dll", "cudart64_12.dll"]
        : ["libcudart.so.13", "libcudart.so"];

    private static Api Load()
    {
        foreach (var name in LibraryNames)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            return new Api
            {
                Malloc = (delegate* unmanaged[Cdecl]<IntPtr*, nuint, int>)NativeLibrary.GetExport(handle, "cudaMalloc"),
                Free = (delegate* unmanaged[Cdecl]<IntPtr, int>)NativeLibrary.GetExport(handle, "cudaFree"),
                Memcpy = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, nuint, int, int>)NativeLibrary.GetExport(handle, "cudaMemcpy"),
                SetDevice = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(handle, "cudaSetDevice"),
                DeviceSynchronize = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(handle, "cudaDeviceSynchronize"),
                MemGetInfo = (delegate* unmanaged[Cdecl]<nuint*, nuint*, int>)NativeLibrary.GetExport(handle, "cudaMemGetInfo"),
                GetErrorString = (delegate* unmanaged[Cdecl]<int, IntPtr>)NativeLibrary.GetExport(handle, "cudaGetErrorString"),
            };
        }
        throw new ModelLoadException(ModelLoadError.ProviderUnavailable, LibraryNames[0],
            $"The CUDA runtime ({string.Join(" or ", LibraryNames)}) cannot be loaded. CUDA graphs and device memory statistics need it " +
            "on the library path (LD_LIBRARY_PATH on Linux, PATH on Windows).");
    }

    /// <summary>True when the CUDA runtime library loads (without touching a device).</summary>
    public static bool IsAvailable
    {
        get
        {
            try { _ = Loaded.Value; return true; }
            catch (ModelLoadException) { return false; }
        }
    }

    public static IntPtr Allocate(int deviceId, long bytes)
    {
        var api = Loaded.Value;
        Check(api.SetDevice(deviceId), "cudaSetDevice");
        IntPtr pointer;
        int status = api.Malloc(&pointer, (nuint)bytes);
        if (status == ErrorMemoryAllocation)
            throw new DeviceOutOfMemoryException($"allocating {bytes} bytes for a CUDA-graph buffer");
        Check(status, "cudaMalloc");
        return pointer;
    }

    public static void Free(IntPtr pointer)
    {
        if (pointer != IntPtr.Zero) _ = Loaded.Value.Free(pointer); // nothing useful to do if freeing fails
    }

    public static void CopyToDevice(int deviceId, IntPtr device, IntPtr host, long bytes)
    {
        var api = Loaded.Value;
        Check(api.SetDevice(deviceId), "cudaSetDevice");
        Check(api.Memcpy(device, host, (nuint)bytes, HostToDevice), "cudaMemcpy (host to device)");
    }

    public static void CopyToHost(int deviceId, IntPtr host, IntPtr device, long bytes)
    {
        var api = Loaded.Value;
        Check(api.SetDevice(deviceId), "cudaSetDevice");
        Check(api.Memcpy(host, device, (nuint)bytes, DeviceToHost), "cudaMemcpy (device to host)");
    }

    /// <summary>Waits for all work on the device (copies from pageable memory may still be in flight after cudaMemcpy returns).</summary>
    public static void Synchronize(int deviceId)
    {
        var api = Loaded.Value;
        Check(api.SetDevice(deviceId), "cudaSetDevice");
        Check(api.DeviceSynchronize(), "cudaDeviceSynchronize");
    }

    /// <summary>Free and total device memory in bytes (all processes).</summary>
    public static (long Free, long Total) MemoryInfo(int deviceId)
    {
        var api = Loaded.Value;
        Check(api.SetDevice(deviceId), "cudaSetDevice");
        nuint free, total;
        Check(api.MemGetInfo(&free, &total), "cudaMemGetInfo");
        return ((long)free, (long)total);
    }

    private static void Check(int status, string call)
    {
        if (status == 0) return;
        string text = Marshal.PtrToStringAnsi(Loaded.Value.GetErrorString(status)) ?? "unknown error";
        throw new InvalidOperationException($"{call} failed with CUDA error {status}: {text}.");
    }
}
