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
    /// (so that any image can be regenerated alone from its seed), indexed from <paramref name="firstIndex"/>. Everything
    /// is checked before the first request is made (<see cref="Check"/>): a bad seed, count or text never yields a partial plan.
    /// </summary>
    /// <exception cref="InvalidSettingException">A seed, the count or a text cannot be used (see <see cref="Check"/>).</exception>
    public static IEnumerable<ImageRequest> ForPrompt(string prompt, string? negativePrompt, IEnumerable<long> seeds, int imagesPerPrompt, int firstIndex)
    {
        var seedList = seeds as IReadOnlyList<long> ?? seeds.ToList();
        Check(prompt, negativePrompt, null, null, seedList, imagesPerPrompt);
        return Requests(prompt, negativePrompt, seedList, imagesPerPrompt, firstIndex);
    }

    /// <summary>
    /// Throws <see cref="InvalidSettingException"/> unless the images of one prompt can be made and saved: every seed and
    /// seed + (images per prompt − 1) within 0 … <see cref="GenerationLimits.MaxSeed"/> (no arithmetic wraps), images per
    /// prompt and their total within limits, and every text one that a PNG can record (<see cref="SavableText"/>).
    /// </summary>
    public static void Check(string prompt, string? negativePrompt, string? prompt2, string? negativePrompt2, IReadOnlyList<long> seeds, int imagesPerPrompt)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        GenerationLimits.CheckImagesPerPrompt(imagesPerPrompt);
        if ((long)seeds.Count * imagesPerPrompt > GenerationLimits.MaxImagesOfPrompt)
            throw new InvalidSettingException("ImagesPerPrompt", "TooManyImages", imagesPerPrompt,
                $"{seeds.Count} seeds × {imagesPerPrompt} images per prompt is {(long)seeds.Count * imagesPerPrompt} images; one prompt may ask for at most " +
                $"{GenerationLimits.MaxImagesOfPrompt}. Give fewer seeds or images per prompt.");
        foreach (long seed in seeds) GenerationLimits.CheckSeedSequence(seed, imagesPerPrompt);
        SavableText.Check("Prompt", prompt);
        SavableText.Check("NegativePrompt", negativePrompt);
        SavableText.Check("Prompt2", prompt2);
        SavableText.Check("NegativePrompt2", negativePrompt2);
    }

    private static IEnumerable<ImageRequest> Requests(string prompt, string? negativePrompt, IReadOnlyList<long> seeds, int imagesPerPrompt, int firstIndex)
    {
        int index = firstIndex;
        foreach (long seed in seeds)
            for (int j = 0; j < imagesPerPrompt; j++)
                yield return new ImageRequest(prompt, negativePrompt, checked(seed + j), index++);
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
        PromptSyntax = settings.PromptSyntax,
        A1111 = settings.A1111,
        DenoisingStart = settings.DenoisingStart,
        DenoisingEnd = settings.DenoisingEnd,
    };

    /// <summary>A second prompt worth recording: given (not empty) and not the first, which it defaults to.</summary>
    private static string? Different(string? second, string? first) => string.IsNullOrEmpty(second) || second == first ? null : second;

    /// <summary>
    /// The images of one prompt with SDXL's second prompts (null or empty: the same as the prompt and negative prompt).
    /// </summary>
    public static IEnumerable<ImageRequest> ForPrompt(string prompt, string? negativePrompt, string? prompt2, string? negativePrompt2,
        IEnumerable<long> seeds, int imagesPerPrompt, int firstIndex)
    {
        var seedList = seeds as IReadOnlyList<long> ?? seeds.ToList();
        Check(prompt, negativePrompt, prompt2, negativePrompt2, seedList, imagesPerPrompt);
        return Requests(prompt, negativePrompt, seedList, imagesPerPrompt, firstIndex)
            .Select(r => prompt2 is null && negativePrompt2 is null ? r : r with { Prompt2 = prompt2, NegativePrompt2 = negativePrompt2 });
    }
}
