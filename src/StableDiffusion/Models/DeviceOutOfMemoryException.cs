namespace StableDiffusion.Models;

/// <summary>
/// A device ran out of memory while a network ran or loaded. The message names the device (the CPU or the GPU), what
/// was running and how to need less: fewer images per batch, a smaller size, attention or VAE slicing, and on the GPU a
/// float16 model or a memory limit.
/// </summary>
public sealed class DeviceOutOfMemoryException : OutOfMemoryException
{
    /// <param name="what">What was running (e.g. "in the unet on [2, 4, 64, 64]").</param>
    /// <param name="inner">ONNX Runtime's error.</param>
    /// <param name="device">Where: "the CPU", "the GPU (CUDA device 0)" (what the message names).</param>
    public DeviceOutOfMemoryException(string what, Exception? inner = null, string device = "the GPU")
        : base($"{char.ToUpperInvariant(device[0])}{device[1..]} ran out of memory {what}. Generate fewer images at once (-BatchSize 1), a smaller image, " +
               "or use attention slicing (Enable-SdAttentionSlicing, or a model exported with sliced or memory-efficient attention) and VAE slicing (Enable-SdVaeSlicing)" +
               (device.Contains("GPU", StringComparison.Ordinal)
                   ? "; a float16 model (ConvertTo-SdFloat16) halves the activations, and -MemoryLimit caps what ONNX Runtime may take. "
                   : ". ") +
               $"ONNX Runtime said: {inner?.Message.Trim()}", inner)
    {
        What = what;
        Device = device;
    }

    /// <summary>What was running (e.g. "in the UNet on [2, 4, 64, 64]").</summary>
    public string What { get; }

    /// <summary>Where memory ran out: "the CPU", "the GPU (CUDA device 0)".</summary>
    public string Device { get; }
}
