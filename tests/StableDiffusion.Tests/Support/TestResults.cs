using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Support;

/// <summary>GenerationResults made without a model, for tests of what happens to results (metadata, batching, jobs).</summary>
internal static class TestResults
{
    public static GenerationResult Make(ImageRequest request, GenerationSettings settings, Image<Rgb24>? image = null, string scheduler = "PNDMScheduler",
        IReadOnlyDictionary<string, object?>? schedulerOptions = null, string model = "tiny-sd", string? vae = null, string precision = "float32", int batchSize = 1) => new()
    {
        Request = request,
        Settings = settings,
        Scheduler = scheduler,
        SchedulerOptions = schedulerOptions ?? new Dictionary<string, object?>(),
        Model = model,
        Vae = vae,
        Precision = precision,
        Image = image ?? new Image<Rgb24>(8, 8),
        Pixels = [],
        Timings = new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 1, batchSize),
    };
}
