using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>
/// The settings a prompt may carry, each optional: a prompt's own value wins over the job's Defaults, which win over
/// the built-in defaults (those of Invoke-SdGeneration).
/// </summary>
public sealed record PromptSettings
{
    public string? NegativePrompt { get; init; }
    public IReadOnlyList<long>? Seeds { get; init; }

    /// <summary>Whether a Seeds key was written (even with a wrong value, already reported): no "no seeds" problem then.</summary>
    internal bool SeedsGiven { get; init; }
    public int? ImagesPerPrompt { get; init; }
    public int? Steps { get; init; }
    public double? GuidanceScale { get; init; }
    public double? GuidanceRescale { get; init; }
    public double? Eta { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>This prompt's own scheduler, or null for the job's.</summary>
    public SchedulerChoice? Scheduler { get; init; }

    /// <summary>The init image (read at validation; its path resolved against the job file's folder), or null.</summary>
    public SourceImage? InitImage { get; init; }

    /// <summary>The inpainting mask, or null.</summary>
    public SourceImage? Mask { get; init; }

    public double? Strength { get; init; }
    public int? MaskCropPadding { get; init; }

    /// <summary>SDXL: the second text encoder's prompts.</summary>
    public string? Prompt2 { get; init; }
    public string? NegativePrompt2 { get; init; }

    /// <summary>Clip skip, SDXL micro-conditioning and the refiner's aesthetic scores (each null: not given here).</summary>
    public SdxlConditioning Conditioning { get; init; } = SdxlConditioning.None;

    /// <summary>Plain or A1111 (Invoke-SdGeneration -PromptSyntax); null: Plain.</summary>
    public PromptSyntax? PromptSyntax { get; init; }

    /// <summary>A1111 prompts: the emphasis mode; null: Original.</summary>
    public Prompts.EmphasisMode? Emphasis { get; init; }

    /// <summary>A1111 prompts: pad the shorter of prompt and negative prompt with "" encodings; null: off.</summary>
    public bool? PadCondUncond { get; init; }

    /// <summary>The A1111 options these settings give.</summary>
    public A1111Options A1111 => new()
    {
        Emphasis = Emphasis ?? Prompts.EmphasisMode.Original,
        PadCondUncond = PadCondUncond ?? false,
    };

    /// <summary>Whether an InitImage or Mask was given but could not be read (already reported): no combination checks then.</summary>
    internal bool ImageFailed { get; init; }

    /// <summary>Each value of <paramref name="over"/> where it has one, else this one's.</summary>
    public PromptSettings Overlay(PromptSettings over) => new()
    {
        NegativePrompt = over.NegativePrompt ?? NegativePrompt,
        Seeds = over.Seeds ?? Seeds,
        SeedsGiven = over.SeedsGiven || SeedsGiven,
        ImagesPerPrompt = over.ImagesPerPrompt ?? ImagesPerPrompt,
        Steps = over.Steps ?? Steps,
        GuidanceScale = over.GuidanceScale ?? GuidanceScale,
        GuidanceRescale = over.GuidanceRescale ?? GuidanceRescale,
        Eta = over.Eta ?? Eta,
        Width = over.Width ?? Width,
        Height = over.Height ?? Height,
        Scheduler = over.Scheduler ?? Scheduler,
        InitImage = over.InitImage ?? InitImage,
        Mask = over.Mask ?? Mask,
        Strength = over.Strength ?? Strength,
        MaskCropPadding = over.MaskCropPadding ?? MaskCropPadding,
        ImageFailed = over.ImageFailed || ImageFailed,
        Prompt2 = over.Prompt2 ?? Prompt2,
        NegativePrompt2 = over.NegativePrompt2 ?? NegativePrompt2,
        Conditioning = Conditioning.Overlay(over.Conditioning),
        PromptSyntax = over.PromptSyntax ?? PromptSyntax,
        Emphasis = over.Emphasis ?? Emphasis,
        PadCondUncond = over.PadCondUncond ?? PadCondUncond,
    };
}

/// <summary>One prompt of a job and where it was written (a key path, or a prompt file and line: <paramref name="InPromptFile"/>).</summary>
public sealed record PromptEntry(string Location, string Prompt, PromptSettings Settings, bool InPromptFile = false);
