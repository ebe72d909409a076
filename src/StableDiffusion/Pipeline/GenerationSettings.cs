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

    /// <summary>The image-task settings, each alone and together (<see cref="ImageTaskRules"/>): the first problem is thrown.</summary>
    private void CheckImageTask()
    {
        if (ImageTaskRules.Check(this) is [var problem, ..])
            throw new ArgumentException(problem.Message, problem.Setting);
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
