using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>One setting that does not fit the others: which (a setting's name), an error id, and what to do.</summary>
/// <param name="Setting">The setting to fix: InitImage, Mask, Strength or MaskCropPadding (the cmdlet parameter and job key).</param>
/// <param name="ErrorId">A stable identifier of the problem (the cmdlets' FullyQualifiedErrorId).</param>
/// <param name="Message">What is wrong and how to fix it.</param>
public sealed record SettingProblem(string Setting, string ErrorId, string Message);

/// <summary>
/// The rules image-to-image and inpainting settings must follow together, checked before any model work by
/// Invoke-SdGeneration (per input record) and render jobs (per prompt): a mask, a strength or a crop padding needs what
/// it acts on, and the mask must match the init image. A setting that would be silently ignored is a problem too.
/// </summary>
public static class ImageTaskRules
{
    /// <summary>
    /// The size rule of a model: width and height multiples of <paramref name="vaeScaleFactor"/> × <paramref name="latentMultiple"/>
    /// (the VAE's pixels per latent times the UNet's downsampling, both read from the model), or null when the size fits.
    /// </summary>
    public static SettingProblem? SizeMultiple(int width, int height, int vaeScaleFactor, int latentMultiple, string modelName)
    {
        int multiple = vaeScaleFactor * latentMultiple;
        string? setting = width % multiple != 0 ? "Width" : height % multiple != 0 ? "Height" : null;
        if (setting is null) return null;
        int value = setting == "Width" ? width : height, lower = Math.Max(multiple, value / multiple * multiple);
        return new(setting, "SizeNotMultipleOfModel",
            $"{setting} must be a multiple of {multiple} for the model '{modelName}'; it is {value}. Its UNet downsamples the latents " +
            $"by {latentMultiple} and its VAE works on {vaeScaleFactor}×{vaeScaleFactor} pixel blocks, so " +
            $"width and height must divide by {vaeScaleFactor} × {latentMultiple} = {multiple}. Try {lower} or {lower + multiple}.");
    }

    /// <summary>Every problem of these settings (none: they fit).</summary>
    public static IReadOnlyList<SettingProblem> Check(SourceImage? initImage, SourceImage? mask, double? strength, int? maskCropPadding,
        int steps = GenerationDefaults.Steps, bool initLatents = false)
    {
        var problems = new List<SettingProblem>();
        if (strength is { } s && !(s >= 0 && s <= 1))
            problems.Add(new("Strength", "InvalidStrength",
                $"Strength must be a number from 0 to 1 (how much of the init image is noised away: 0 keeps it, 1 replaces it); it is {s.ToString(System.Globalization.CultureInfo.InvariantCulture)}."));
        if (maskCropPadding is < 0)
            problems.Add(new("MaskCropPadding", "InvalidMaskCropPadding", $"MaskCropPadding must be 0 or more pixels; it is {maskCropPadding}."));
        if (initImage is null)
        {
            if (mask is not null)
                problems.Add(new("Mask", "MaskWithoutInitImage", "A mask needs an init image to inpaint: give InitImage as well (the mask's white pixels are repainted)."));
            if (strength is not null && !initLatents)
                problems.Add(new("Strength", "StrengthWithoutInitImage",
                    "Strength applies to an init image and would be ignored without one: give InitImage, or leave Strength out for text-to-image."));
        }
        else
        {
            if (initImage.Width < 8 || initImage.Height < 8)
                problems.Add(new("InitImage", "InitImageTooSmall", $"The init image {Describe(initImage)} is smaller than 8×8 pixels, the VAE's block size; use a larger image."));
            double effective = strength ?? (mask is null ? GenerationDefaults.Img2ImgStrength : GenerationDefaults.InpaintStrength);
            if (effective >= 0 && effective <= 1 && steps >= 1 && StrengthSchedule.StepsRun(steps, effective) < 1)
                problems.Add(new("Strength", "NoDenoisingStep",
                    $"Steps {steps} × Strength {effective.ToString(System.Globalization.CultureInfo.InvariantCulture)} leaves no denoising step " +
                    "(diffusers runs int(steps × strength) of them): " + (effective > 0
                        ? $"raise Steps to at least {(int)Math.Ceiling(1 / effective)}, or Strength to at least {(Math.Ceiling(1000.0 / steps) / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)}."
                        : "Strength 0 would return the init image unchanged; raise it above 0.")));
            if (mask is not null && (mask.Width != initImage.Width || mask.Height != initImage.Height))
                problems.Add(new("Mask", "MaskSizeMismatch",
                    $"The mask {Describe(mask)} is {mask.Width}×{mask.Height} but the init image {Describe(initImage)} is {initImage.Width}×{initImage.Height}: " +
                    "give a mask of the init image's size."));
        }
        if (maskCropPadding is not null && mask is null)
            problems.Add(new("MaskCropPadding", "MaskCropPaddingWithoutMask",
                "MaskCropPadding crops around the inpainting mask and would be ignored without one: give Mask (and InitImage), or leave MaskCropPadding out."));
        return problems;
    }

    /// <summary>Every problem of <paramref name="settings"/>' image settings.</summary>
    public static IReadOnlyList<SettingProblem> Check(GenerationSettings settings) =>
        Check(settings.InitImage, settings.Mask, settings.Strength, settings.MaskCropPadding, settings.Steps, settings.InitLatents is not null);

    /// <summary>
    /// The output size when Width and Height are not given: image-to-image takes the init image's, rounded down to
    /// multiples of the VAE factor (diffusers' image processor); text-to-image and inpainting (diffusers 0.35 uses
    /// <c>unet.config.sample_size × vae_scale_factor</c> there) take the model's.
    /// </summary>
    public static (int Width, int Height) DefaultSize(SourceImage? initImage, SourceImage? mask, int modelSize, int vaeScaleFactor = VaeImageProcessor.DefaultVaeScaleFactor) =>
        initImage is not null && mask is null ? VaeImageProcessor.GetDefaultSize(initImage, vaeScaleFactor) : (modelSize, modelSize);

    private static string Describe(SourceImage image) => image.FileName is { } f ? $"'{Path.GetFileName(f)}'" : "(in memory)";
}
