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

    /// <summary>
    /// Latents to start from instead of an image (SDXL base → refiner: <c>image=latents</c>): used as they are, without a VAE
    /// encode; with <see cref="DenoisingStart"/> no noise is added, as diffusers' ensemble of experts does.
    /// </summary>
    public LatentImage? InitLatents { get; init; }

    /// <summary>diffusers' <c>denoising_start</c> (0 to 1, exclusive): skip the first fraction of the schedule (the refiner's hand-off).</summary>
    public double? DenoisingStart { get; init; }

    /// <summary>diffusers' <c>denoising_end</c> (0 to 1, exclusive): stop after this fraction of the schedule (the base's hand-off).</summary>
    public double? DenoisingEnd { get; init; }

    /// <summary>What a generation returns: decoded images, or the final latents (diffusers' <c>output_type="latent"</c>).</summary>
    public GenerationOutput Output { get; init; }

    /// <summary>
    /// Clip skip and SDXL's micro-conditioning (sizes, crops, the refiner's aesthetic scores), each null at diffusers' default.
    /// </summary>
    public SdxlConditioning Conditioning { get; init; } = SdxlConditioning.None;

    /// <summary>How the prompts are read: literal text (diffusers, the default) or AUTOMATIC1111's syntax.</summary>
    public PromptSyntax PromptSyntax { get; init; } = PromptSyntax.Plain;

    /// <summary>Emphasis mode and cond/uncond padding of <see cref="PromptSyntax.A1111"/> prompts (ignored for Plain).</summary>
    public A1111Options A1111 { get; init; } = A1111Options.Default;

    /// <summary>diffusers' <c>clip_skip</c>: layers skipped from the end of the text encoder(s); null = none.</summary>
    public int? ClipSkip => Conditioning.ClipSkip;

    /// <summary>
    /// These settings with a null strength of an image-to-image task set to <paramref name="family"/>'s diffusers default
    /// (the pipeline and render jobs resolve it alike, so what is recorded is what ran).
    /// </summary>
    public GenerationSettings WithFamilyStrength(Models.ModelFamily family) =>
        Strength is null && Mask is null && DenoisingStart is null && (InitImage is not null || InitLatents is not null)
            ? this with { Strength = GenerationDefaults.Img2ImgStrengthOf(family) }
            : this;

    /// <summary>The strength in effect: the given one, else the task's default (text-to-image: null).</summary>
    public double? EffectiveStrength => InitImage is null && InitLatents is null ? null
        : Strength ?? (Mask is null ? GenerationDefaults.Img2ImgStrength : GenerationDefaults.InpaintStrength);

    /// <summary>Whether classifier-free guidance runs (the UNet sees [uncond…, cond…]).</summary>
    public bool UsesGuidance => GuidanceScale > 1f;

    /// <summary>Throws ArgumentException naming the first invalid setting and the fix.</summary>
    public void Validate()
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"Steps must be 1 or more; it is {Steps}.");
        GenerationLimits.CheckGuidanceScale(GuidanceScale);
        GenerationLimits.CheckEta(Eta);
        GenerationLimits.CheckAestheticScore("AestheticScore", Conditioning.AestheticScore);
        GenerationLimits.CheckAestheticScore("NegativeAestheticScore", Conditioning.NegativeAestheticScore);
        if (!float.IsFinite(GuidanceRescale) || GuidanceRescale < 0 || GuidanceRescale > 1)
            throw new ArgumentOutOfRangeException(nameof(GuidanceRescale), GuidanceRescale, $"GuidanceRescale must be between 0 and 1; it is {GuidanceRescale}.");
        CheckSize(nameof(Width), Width);
        CheckSize(nameof(Height), Height);
        CheckImageTask();
        CheckDenoisingRange();
        if (!Enum.IsDefined(PromptSyntax))
            throw new ArgumentOutOfRangeException(nameof(PromptSyntax), PromptSyntax, $"PromptSyntax must be Plain or A1111; it is {(int)PromptSyntax}.");
        if (ClipSkip is < 0)
            throw new ArgumentOutOfRangeException(nameof(ClipSkip), ClipSkip, $"ClipSkip must be 0 or more layers; it is {ClipSkip}.");
    }

    /// <summary>denoising_start / denoising_end: fractions strictly between 0 and 1, start before end.</summary>
    private void CheckDenoisingRange()
    {
        foreach (var (name, value) in new[] { (nameof(DenoisingStart), DenoisingStart), (nameof(DenoisingEnd), DenoisingEnd) })
            if (value is double v && !(v > 0 && v < 1))
                throw new ArgumentOutOfRangeException(name, v, $"{name} must be a fraction of the schedule between 0 and 1 (exclusive); it is {v}.");
        if (DenoisingStart >= DenoisingEnd)
            throw new ArgumentException($"DenoisingStart ({DenoisingStart}) must be below DenoisingEnd ({DenoisingEnd}).", nameof(DenoisingStart));
        if (InitLatents is not null && InitImage is not null)
            throw new ArgumentException("Give either an init image or init latents, not both.", nameof(InitLatents));
        if (InitLatents is not null && Mask is not null)
            throw new ArgumentException("Inpainting needs an init image, not latents.", nameof(InitLatents));
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
