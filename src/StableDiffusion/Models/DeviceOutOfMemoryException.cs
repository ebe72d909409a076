namespace StableDiffusion.Models;

/// <summary>
/// The GPU ran out of memory. The message says what was running and how to need less: fewer images per batch,
/// a smaller size, attention slicing, or a float16 model.
/// </summary>
public sealed class DeviceOutOfMemoryException : OutOfMemoryException
{
    public DeviceOutOfMemoryException(string what, Exception? inner = null)
        : base($"The GPU ran out of memory {what}. Generate fewer images at once (-BatchSize 1), a smaller image, " +
               "use a model exported with attention slicing (sliced or memory-efficient attention), or a float16 model " +
               "(ConvertTo-SdFloat16); -MemoryLimit caps what ONNX Runtime may take. " +
               $"ONNX Runtime said: {inner?.Message.Trim()}", inner)
    {
        What = what;
    }

    /// <summary>What was running (e.g. "in the UNet on [2, 4, 64, 64]").</summary>
    public string What { get; }
}
