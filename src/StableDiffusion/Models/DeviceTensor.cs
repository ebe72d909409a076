using Microsoft.ML.OnnxRuntime;

namespace StableDiffusion.Models;

/// <summary>A tensor in device memory at a fixed address (what a captured CUDA graph reads and writes), with its OrtValue.</summary>
internal sealed class DeviceTensor : IDisposable
{
    private readonly int _deviceId;
    private IntPtr _pointer;

    public DeviceTensor(HostTensor like, int deviceId)
    {
        _deviceId = deviceId;
        ByteLength = like.ByteLength;
        _pointer = CudaRuntime.Allocate(deviceId, ByteLength);
        using var memory = new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.Default);
        Value = OrtValue.CreateTensorValueWithData(memory, like.Type, like.Shape, _pointer, ByteLength);
    }

    public long ByteLength { get; }
    public OrtValue Value { get; }

    public void Upload(HostTensor host) => CudaRuntime.CopyToDevice(_deviceId, _pointer, host.Pointer, ByteLength);

    public void Download(HostTensor host) => CudaRuntime.CopyToHost(_deviceId, host.Pointer, _pointer, ByteLength);

    public void Dispose()
    {
        Value.Dispose();
        CudaRuntime.Free(_pointer);
        _pointer = IntPtr.Zero;
    }
}
