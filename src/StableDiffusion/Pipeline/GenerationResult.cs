using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>One finished image and everything needed to reproduce it.</summary>
public sealed class GenerationResult : IDisposable
{
    public required ImageRequest Request { get; init; }

    /// <summary>Steps, guidance, size… as they were applied (sizes resolved).</summary>
    public required GenerationSettings Settings { get; init; }

    /// <summary>The scheduler's diffusers class name.</summary>
    public required string Scheduler { get; init; }

    /// <summary>Scheduler options that differ from the model's configuration (for the PNG parameters).</summary>
    public required IReadOnlyDictionary<string, object?> SchedulerOptions { get; init; }

    /// <summary>Model folder name.</summary>
    public required string Model { get; init; }

    /// <summary>The swapped-in VAE's folder name, or null for the model's own.</summary>
    public string? Vae { get; init; }

    /// <summary>float32 or float16 (the graphs' float type).</summary>
    public required string Precision { get; init; }

    /// <summary>8-bit image as diffusers' <c>numpy_to_pil</c> gives it.</summary>
    public required Image<Rgb24> Image { get; init; }

    /// <summary>The float image in [0, 1], NHWC [H, W, 3] (diffusers' output_type="np").</summary>
    public required float[] Pixels { get; init; }

    /// <summary>Wall time of the batch this image was part of, divided by the batch size.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Time per stage for the whole batch.</summary>
    public required GenerationTimings Timings { get; init; }

    public int Width => Image.Width;
    public int Height => Image.Height;

    /// <summary>The settings as they go into the PNG's text chunks.</summary>
    public GenerationParameters ToParameters() =>
        ImageRequests.Parameters(Request, Settings, Width, Height, Scheduler, SchedulerOptions, Model, Vae, Precision);

    public void Dispose() => Image.Dispose();
}

/// <summary>Where the time of a batch went.</summary>
public sealed record GenerationTimings(TimeSpan Tokenize, TimeSpan TextEncoder, TimeSpan UNet, TimeSpan Scheduler,
    TimeSpan VaeDecoder, TimeSpan Postprocess, int Iterations, int BatchSize)
{
    /// <summary>Preparing the start latents: the init image's pre-processing and VAE encode (zero for text-to-image).</summary>
    public TimeSpan PrepareLatents { get; init; }

    public TimeSpan Total => Tokenize + TextEncoder + PrepareLatents + UNet + Scheduler + VaeDecoder + Postprocess;

    /// <summary>Denoising iterations per second for the batch.</summary>
    public double IterationsPerSecond => Iterations / Math.Max(1e-9, (UNet + Scheduler).TotalSeconds);
}
