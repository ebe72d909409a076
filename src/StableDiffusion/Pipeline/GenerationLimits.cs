using System.Globalization;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The accepted ranges of a generation's numbers, declared once for Invoke-SdGeneration, render jobs and the library:
/// each check says what is wrong and the range, before any model work.
/// </summary>
public static class GenerationLimits
{
    /// <summary>
    /// The largest seed: seeds are 0 … 2^63 − 1 everywhere (a 64-bit signed integer, which torch's <c>manual_seed</c>
    /// takes as it is), so an image's seed always reproduces it; nothing past it wraps.
    /// </summary>
    public const long MaxSeed = long.MaxValue;

    /// <summary>Most images of one prompt per seed (also the job key's limit).</summary>
    public const int MaxImagesPerPrompt = 10_000;

    /// <summary>Most images one prompt may expand to (seeds × images per prompt): a slip is caught rather than planned in memory.</summary>
    public const int MaxImagesOfPrompt = 1_000_000;

    /// <summary>Guidance scales beyond this only saturate the image (the usual range is 1 to 30).</summary>
    public const float MaxGuidanceScale = 100f;

    /// <summary>
    /// DDIM's η: above 1 its noise exceeds the posterior's and diffusers' sqrt(1 − ᾱ_prev − σ²) turns NaN (a black image).
    /// </summary>
    public const float MaxEta = 1f;

    /// <summary>Most images sent through the UNet together (also the job key's limit): its memory grows with the batch.</summary>
    public const int MaxBatchSize = 64;

    /// <summary>The SDXL refiner's aesthetic scores are on the LAION aesthetic predictor's scale, 0 to 10.</summary>
    public const double MaxAestheticScore = 10;

    /// <summary>Throws <see cref="InvalidSettingException"/> unless <paramref name="seed"/> is 0 … <see cref="MaxSeed"/>.</summary>
    public static void CheckSeed(long seed)
    {
        if (seed < 0)
            throw new InvalidSettingException("Seed", "SeedOutOfRange", seed,
                $"Seeds must be 0 or more (and at most {MaxSeed}); {seed} is not.");
    }

    /// <summary>
    /// Throws unless the <paramref name="count"/> seeds <paramref name="seed"/>, <paramref name="seed"/> + 1, … all fit
    /// (image j of a prompt uses seed + j): the error names the seed, the count and the largest first seed that fits.
    /// </summary>
    public static void CheckSeedSequence(long seed, int count)
    {
        CheckSeed(seed);
        if (count > 1 && seed > MaxSeed - (count - 1))
            throw new InvalidSettingException("Seed", "SeedOutOfRange", seed,
                $"Seed {seed} with {count} images per prompt would need seeds up to {seed} + {count - 1}, past the largest seed {MaxSeed}: " +
                $"give a seed of at most {MaxSeed - (count - 1)}, or fewer images per prompt.");
    }

    /// <summary>Throws unless <paramref name="imagesPerPrompt"/> is 1 … <see cref="MaxImagesPerPrompt"/>.</summary>
    public static void CheckImagesPerPrompt(int imagesPerPrompt)
    {
        if (imagesPerPrompt < 1 || imagesPerPrompt > MaxImagesPerPrompt)
            throw new InvalidSettingException("ImagesPerPrompt", "ImagesPerPromptOutOfRange", imagesPerPrompt,
                $"ImagesPerPrompt must be 1 to {MaxImagesPerPrompt}; it is {imagesPerPrompt}. For more images, give several seeds or run again.");
    }

    /// <summary>Throws unless <paramref name="batchSize"/> is 1 … <see cref="MaxBatchSize"/>.</summary>
    public static void CheckBatchSize(int batchSize)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize)
            throw new InvalidSettingException("BatchSize", "InvalidBatchSize", batchSize,
                $"BatchSize must be 1 to {MaxBatchSize}; it is {batchSize}. (It sets how many images share a UNet call, not how many are made: use -ImagesPerPrompt for that.)");
    }

    /// <summary>Throws unless an aesthetic score (null: the default) is a finite number from 0 to <see cref="MaxAestheticScore"/>.</summary>
    public static void CheckAestheticScore(string setting, double? score)
    {
        if (score is { } s && !(s >= 0 && s <= MaxAestheticScore))
            throw new InvalidSettingException(setting, "AestheticScoreOutOfRange", s,
                $"{setting} must be a finite number from 0 to {MaxAestheticScore.ToString(CultureInfo.InvariantCulture)} (the aesthetic predictor's scale; " +
                $"diffusers' defaults are 6 and 2.5); it is {s.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>Throws unless the guidance scale is a finite number from 0 to <see cref="MaxGuidanceScale"/>.</summary>
    public static void CheckGuidanceScale(double guidanceScale)
    {
        if (!(guidanceScale >= 0 && guidanceScale <= MaxGuidanceScale))
            throw new InvalidSettingException("GuidanceScale", "GuidanceScaleOutOfRange", guidanceScale,
                $"GuidanceScale must be a finite number from 0 to {MaxGuidanceScale.ToString(CultureInfo.InvariantCulture)} (1 or less turns guidance off; 5 to 12 is usual); " +
                $"it is {guidanceScale.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>Throws unless η is a finite number from 0 to <see cref="MaxEta"/>.</summary>
    public static void CheckEta(double eta)
    {
        if (!(eta >= 0 && eta <= MaxEta))
            throw new InvalidSettingException("Eta", "EtaOutOfRange", eta,
                $"Eta must be a finite number from 0 (deterministic DDIM) to {MaxEta.ToString(CultureInfo.InvariantCulture)} (DDPM-like noise); " +
                $"it is {eta.ToString(CultureInfo.InvariantCulture)}.");
    }
}
