using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// What Invoke-SdGeneration and render jobs share about the images they ask for: how a prompt with its seeds and
/// images per prompt becomes requests, and the parameters an image's PNG records.
/// </summary>
public static class ImageRequests
{
    /// <summary>
    /// The images of one prompt: for each seed s, <paramref name="imagesPerPrompt"/> images with seeds s, s + 1, …
    /// (so that any image can be regenerated alone from its seed), indexed from <paramref name="firstIndex"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A seed + j does not fit a 64-bit integer (raised when reached).</exception>
    public static IEnumerable<ImageRequest> ForPrompt(string prompt, string? negativePrompt, IEnumerable<long> seeds, int imagesPerPrompt, int firstIndex)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imagesPerPrompt, 1);
        int index = firstIndex;
        foreach (long seed in seeds)
        {
            for (int j = 0; j < imagesPerPrompt; j++)
            {
                if (seed > long.MaxValue - j)
                    throw new ArgumentOutOfRangeException(nameof(seeds), $"Seed {seed} + {j} is too large.");
                yield return new ImageRequest(prompt, negativePrompt, seed + j, index++);
            }
        }
    }

    /// <summary>The parameters recorded for <paramref name="request"/> rendered with <paramref name="settings"/> at the given size and scheduler.</summary>
    public static GenerationParameters Parameters(ImageRequest request, GenerationSettings settings, int width, int height,
        string scheduler, IReadOnlyDictionary<string, object?> schedulerOptions, string model, string? vae, string? precision) => new()
    {
        Prompt = request.Prompt,
        NegativePrompt = request.NegativePrompt,
        Seed = request.Seed,
        Index = request.Index,
        Steps = settings.Steps,
        GuidanceScale = settings.GuidanceScale,
        GuidanceRescale = settings.GuidanceRescale,
        Eta = settings.Eta,
        Width = width,
        Height = height,
        Scheduler = scheduler,
        SchedulerOptions = schedulerOptions,
        Model = model,
        Vae = vae,
        Precision = precision,
        InitImage = SourceImageRecord.From(settings.InitImage),
        Mask = SourceImageRecord.From(settings.Mask),
        Strength = settings.EffectiveStrength,
        MaskCropPadding = settings.MaskCropPadding,
        Prompt2 = Different(request.Prompt2, request.Prompt),
        NegativePrompt2 = Different(request.NegativePrompt2, request.NegativePrompt),
        Conditioning = settings.Conditioning,
        DenoisingStart = settings.DenoisingStart,
        DenoisingEnd = settings.DenoisingEnd,
    };

    /// <summary>A second prompt worth recording: given (not empty) and not the first, which it defaults to.</summary>
    private static string? Different(string? second, string? first) => string.IsNullOrEmpty(second) || second == first ? null : second;

    /// <summary>
    /// The images of one prompt with SDXL's second prompts (null or empty: the same as the prompt and negative prompt).
    /// </summary>
    public static IEnumerable<ImageRequest> ForPrompt(string prompt, string? negativePrompt, string? prompt2, string? negativePrompt2,
        IEnumerable<long> seeds, int imagesPerPrompt, int firstIndex) =>
        ForPrompt(prompt, negativePrompt, seeds, imagesPerPrompt, firstIndex)
            .Select(r => prompt2 is null && negativePrompt2 is null ? r : r with { Prompt2 = prompt2, NegativePrompt2 = negativePrompt2 });
}
