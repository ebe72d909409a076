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
    public int? ClipSkip => Parameters.Conditioning.ClipSkip;

    /// <summary>How the prompts were read (an A1111 infotext: A1111), so that regenerating keeps the author's weights.</summary>
    public PromptSyntax PromptSyntax => Parameters.PromptSyntax;

    /// <summary>The A1111 emphasis mode the prompts were encoded with.</summary>
    public Prompts.EmphasisMode Emphasis => Parameters.A1111.Emphasis;

    /// <summary>Whether A1111's "Pad prompt/negative prompt" was on.</summary>
    public bool PadCondUncond => Parameters.A1111.PadCondUncond;

    public HeightWidth? OriginalSize => Parameters.Conditioning.OriginalSize;
    public TopLeft? CropTopLeft => Parameters.Conditioning.CropTopLeft;
    public HeightWidth? TargetSize => Parameters.Conditioning.TargetSize;
    public HeightWidth? NegativeOriginalSize => Parameters.Conditioning.NegativeOriginalSize;
    public TopLeft? NegativeCropTopLeft => Parameters.Conditioning.NegativeCropTopLeft;
    public HeightWidth? NegativeTargetSize => Parameters.Conditioning.NegativeTargetSize;
    public double? AestheticScore => Parameters.Conditioning.AestheticScore;
    public double? NegativeAestheticScore => Parameters.Conditioning.NegativeAestheticScore;
    public double? DenoisingStart => Parameters.DenoisingStart;
    public double? DenoisingEnd => Parameters.DenoisingEnd;
}
