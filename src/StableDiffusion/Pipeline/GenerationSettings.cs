using StableDiffusion.Imaging;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>Settings shared by the images of a generation (diffusers' pipeline call arguments).</summary>
public sealed record GenerationSettings
{
    /// <summary>Denoising steps (<c>num_inference_steps</c>).</summary>
    public int Steps { get; init; } = GenerationDefaults.Steps;

    /// <summary>Classifier-free guidance scale; at 1 or below the unconditional pass is skipped, as diffusers does.</summary>
    public float GuidanceScale { get; init; } = GenerationDefaults.GuidanceScale;

    /// <summary>Image width in pixels; null takes the model's default size.</summary>
    public int? Width { get; init; }

    /// <summary>Image height in pixels; null takes the model's default size.</summary>
    public int? Height { get; init; }

    /// <summary>DDIM's η (0 = deterministic); ignored by schedulers without it, as diffusers does.</summary>
    public float Eta { get; init; }

    /// <summary>diffusers' <c>guidance_rescale</c> (0 = off), for zero-terminal-SNR v-prediction models.</summary>
    public float GuidanceRescale { get; init; }

    /// <summary>A scheduler for this call only (name and option overrides), else the pipeline's.</summary>
    public SchedulerChoice? Scheduler { get; init; }

    /// <summary>
    /// The image to start from (image-to-image; with <see cref="Mask"/> inpainting), or null for text-to-image. Every image
    /// of a batch starts from it, as diffusers' pipelines do when given one image.
    /// </summary>
    public SourceImage? InitImage { get; init; }

    /// <summary>The inpainting mask (white = repaint), or null. Needs <see cref="InitImage"/> of the same size.</summary>
    public SourceImage? Mask { get; init; }

    /// <summary>
    /// How much of the init image is noised away (diffusers' <c>strength</c>, 0 to 1); null takes the task's diffusers default
    /// (<see cref="GenerationDefaults.Img2ImgStrength"/>, <see cref="GenerationDefaults.InpaintStrength"/>).
    /// </summary>
    public double? Strength { get; init; }

    /// <summary>diffusers' <c>padding_mask_crop</c>: inpaint only a crop around the mask, this many pixels wider; null = whole image.</summary>
    public int? MaskCropPadding { get; init; }

    /// <summary>The strength in effect: the given one, else the task's default (text-to-image: null).</summary>
    public double? EffectiveStrength => InitImage is null ? null : Strength ?? (Mask is null ? GenerationDefaults.Img2ImgStrength : GenerationDefaults.InpaintStrength);

    /// <summary>Whether classifier-free guidance runs (the UNet sees [uncond…, cond…]).</summary>
    public bool UsesGuidance => GuidanceScale > 1f;

    /// <summary>Throws ArgumentException naming the first invalid setting and the fix.</summary>
    public void Validate()
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"Steps must be 1 or more; it is {Steps}.");
        if (!float.IsFinite(GuidanceScale))
            throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, $"GuidanceScale must be a finite number; it is {GuidanceScale}.");
        if (!float.IsFinite(Eta) || Eta < 0)
            throw new ArgumentOutOfRangeException(nameof(Eta), Eta, $"Eta must be a finite number of 0 or more; it is {Eta}.");
        if (!float.IsFinite(GuidanceRescale) || GuidanceRescale < 0 || GuidanceRescale > 1)
            throw new ArgumentOutOfRangeException(nameof(GuidanceRescale), GuidanceRescale, $"GuidanceRescale must be between 0 and 1; it is {GuidanceRescale}.");
        CheckSize(nameof(Width), Width);
        CheckSize(nameof(Height), Height);
        CheckImageTask();
    }

    /// <summary>The image-task settings: each alone and in combination (a mask needs an init image of its size…).</summary>
    private void CheckImageTask()
    {
        if (Strength is double s && (double.IsNaN(s) || s < 0 || s > 1))
            throw new ArgumentOutOfRangeException(nameof(Strength), s, $"Strength must be between 0 and 1 (how much of the init image is noised away); it is {s}.");
        if (InitImage is null)
        {
            if (Mask is not null)
                throw new ArgumentException("A mask was given without an init image: inpainting repaints part of -InitImage, so give both.", nameof(Mask));
            if (Strength is not null)
                throw new ArgumentException("Strength applies to an init image, and none was given: add -InitImage, or leave Strength out.", nameof(Strength));
            if (MaskCropPadding is not null)
                throw new ArgumentException("MaskCropPadding applies to inpainting, and no init image and mask were given.", nameof(MaskCropPadding));
            return;
        }
        if (Mask is null && MaskCropPadding is not null)
            throw new ArgumentException("MaskCropPadding crops around the mask, and no mask was given: add -Mask, or leave MaskCropPadding out.", nameof(MaskCropPadding));
        if (MaskCropPadding is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaskCropPadding), MaskCropPadding, $"MaskCropPadding must be 0 or more pixels; it is {MaskCropPadding}.");
        if (Mask is not null && (Mask.Width != InitImage.Width || Mask.Height != InitImage.Height))
            throw new ArgumentException(
                $"The mask is {Mask.Width}×{Mask.Height} but the init image is {InitImage.Width}×{InitImage.Height}: they must be the same size " +
                "(white pixels of the mask mark what to repaint in the image). Resize the mask to the image.", nameof(Mask));
        double strength = EffectiveStrength!.Value;
        if (StrengthSchedule.StepsRun(Steps, strength) < 1)
        {
            int needed = (int)Math.Ceiling(1.0 / strength);
            throw new ArgumentOutOfRangeException(nameof(Strength), strength,
                $"Steps {Steps} × Strength {strength} leaves no denoising step (diffusers runs int(steps × strength) of them): " +
                (strength > 0 ? $"raise Steps to at least {needed} or Strength to at least {Math.Ceiling(1000.0 / Steps) / 1000}." : "Strength 0 returns the init image unchanged; raise it above 0."));
        }
    }

    private static void CheckSize(string name, int? value)
    {
        if (value is null) return;
        if (value < 8 || value % 8 != 0)
        {
            int lower = Math.Max(8, value.Value / 8 * 8);
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be a positive multiple of 8 (the VAE works on 8×8 pixel blocks); it is {value}. Try {lower} or {lower + 8}.");
        }
    }
}
