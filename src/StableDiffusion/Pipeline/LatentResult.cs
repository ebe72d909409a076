namespace StableDiffusion.Pipeline;

/// <summary>One image's final latents (not decoded) and what produced them: the hand-off from an SDXL base to its refiner.</summary>
public sealed class LatentResult
{
    public required ImageRequest Request { get; init; }

    /// <summary>The settings as they were applied (sizes resolved).</summary>
    public required GenerationSettings Settings { get; init; }

    public required string Scheduler { get; init; }
    public required IReadOnlyDictionary<string, object?> SchedulerOptions { get; init; }
    public required string Model { get; init; }

    /// <summary>The latents [4, h, w] as the loop left them (not divided by the VAE scaling factor).</summary>
    public required LatentImage Latents { get; init; }

    public TimeSpan Elapsed { get; init; }
    public required GenerationTimings Timings { get; init; }
}
