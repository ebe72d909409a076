namespace StableDiffusion.Pipeline;

/// <summary>
/// The SDXL conditioning settings as one value — clip skip, the micro-conditioning sizes and crops, the refiner's aesthetic
/// scores — each null when not given (diffusers' default). PNG metadata and render job settings hold it; it maps to and from
/// the flat <see cref="GenerationSettings"/> properties in one place.
/// </summary>
public sealed record SdxlConditioning
{
    /// <summary>None given: every setting at diffusers' default.</summary>
    public static SdxlConditioning None { get; } = new();

    public int? ClipSkip { get; init; }
    public HeightWidth? OriginalSize { get; init; }
    public TopLeft? CropTopLeft { get; init; }
    public HeightWidth? TargetSize { get; init; }
    public HeightWidth? NegativeOriginalSize { get; init; }
    public TopLeft? NegativeCropTopLeft { get; init; }
    public HeightWidth? NegativeTargetSize { get; init; }
    public double? AestheticScore { get; init; }
    public double? NegativeAestheticScore { get; init; }

    /// <summary>The conditioning settings of <paramref name="settings"/>.</summary>
    public static SdxlConditioning Of(GenerationSettings settings) => new()
    {
        ClipSkip = settings.ClipSkip,
        OriginalSize = settings.OriginalSize,
        CropTopLeft = settings.CropTopLeft,
        TargetSize = settings.TargetSize,
        NegativeOriginalSize = settings.NegativeOriginalSize,
        NegativeCropTopLeft = settings.NegativeCropTopLeft,
        NegativeTargetSize = settings.NegativeTargetSize,
        AestheticScore = settings.AestheticScore,
        NegativeAestheticScore = settings.NegativeAestheticScore,
    };

    /// <summary><paramref name="settings"/> with these conditioning settings.</summary>
    public GenerationSettings ApplyTo(GenerationSettings settings) => settings with
    {
        ClipSkip = ClipSkip,
        OriginalSize = OriginalSize,
        CropTopLeft = CropTopLeft,
        TargetSize = TargetSize,
        NegativeOriginalSize = NegativeOriginalSize,
        NegativeCropTopLeft = NegativeCropTopLeft,
        NegativeTargetSize = NegativeTargetSize,
        AestheticScore = AestheticScore,
        NegativeAestheticScore = NegativeAestheticScore,
    };

    /// <summary>Each value of <paramref name="over"/> where it has one, else this one's (a prompt's over the job's Defaults).</summary>
    public SdxlConditioning Overlay(SdxlConditioning over) => new()
    {
        ClipSkip = over.ClipSkip ?? ClipSkip,
        OriginalSize = over.OriginalSize ?? OriginalSize,
        CropTopLeft = over.CropTopLeft ?? CropTopLeft,
        TargetSize = over.TargetSize ?? TargetSize,
        NegativeOriginalSize = over.NegativeOriginalSize ?? NegativeOriginalSize,
        NegativeCropTopLeft = over.NegativeCropTopLeft ?? NegativeCropTopLeft,
        NegativeTargetSize = over.NegativeTargetSize ?? NegativeTargetSize,
        AestheticScore = over.AestheticScore ?? AestheticScore,
        NegativeAestheticScore = over.NegativeAestheticScore ?? NegativeAestheticScore,
    };
}
