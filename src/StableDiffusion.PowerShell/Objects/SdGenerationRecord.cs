using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// What SdImage and SdImageInfo share: the parameters an image records, and the SDXL settings among them under
/// Invoke-SdGeneration's parameter names (so either object piped there binds them). Each is null when not given.
/// </summary>
public abstract class SdGenerationRecord
{
    private protected SdGenerationRecord(GenerationParameters parameters) => Parameters = parameters;

    /// <summary>The settings as the PNG records them.</summary>
    public GenerationParameters Parameters { get; }

    /// <summary>SDXL's second prompt, when it differs from the prompt.</summary>
    public string? Prompt2 => Parameters.Prompt2;

    /// <summary>SDXL's second negative prompt, when it differs from the negative prompt.</summary>
    public string? NegativePrompt2 => Parameters.NegativePrompt2;

    /// <summary>diffusers' clip_skip (A1111's "Clip skip" minus 1).</summary>
    public int? ClipSkip => Parameters.ClipSkip;

    public HeightWidth? OriginalSize => Parameters.OriginalSize;
    public TopLeft? CropTopLeft => Parameters.CropTopLeft;
    public HeightWidth? TargetSize => Parameters.TargetSize;
    public HeightWidth? NegativeOriginalSize => Parameters.NegativeOriginalSize;
    public TopLeft? NegativeCropTopLeft => Parameters.NegativeCropTopLeft;
    public HeightWidth? NegativeTargetSize => Parameters.NegativeTargetSize;
    public double? AestheticScore => Parameters.AestheticScore;
    public double? NegativeAestheticScore => Parameters.NegativeAestheticScore;
    public double? DenoisingStart => Parameters.DenoisingStart;
    public double? DenoisingEnd => Parameters.DenoisingEnd;
}
