namespace StableDiffusion.Pipeline;

/// <summary>
/// The SDXL conditioning settings as one value — clip skip, the micro-conditioning sizes and crops, the refiner's aesthetic
/// scores — each null when not given (diffusers' default). Declared once: generation settings, PNG metadata and render job
/// settings all hold this value.
/// </summary>
public sealed record SdxlConditioning
{
    /// <summary>None given: every setting at diffusers' default.</summary>
    public static SdxlConditioning None { get; } = new();

    /// <summary>diffusers' <c>clip_skip</c>: layers skipped from the end of the text encoder(s).</summary>
    public int? ClipSkip { get; init; }

    /// <summary>SDXL <c>original_size</c> (null: the image size).</summary>
    public HeightWidth? OriginalSize { get; init; }
    /// <summary>SDXL <c>crops_coords_top_left</c> (null: (0, 0)).</summary>
    public TopLeft? CropTopLeft { get; init; }
    /// <summary>SDXL <c>target_size</c> (null: the image size).</summary>
    public HeightWidth? TargetSize { get; init; }
    /// <summary>SDXL <c>negative_original_size</c> (null: diffusers' default for the task).</summary>
    public HeightWidth? NegativeOriginalSize { get; init; }
    /// <summary>SDXL <c>negative_crops_coords_top_left</c> (null: (0, 0)).</summary>
    public TopLeft? NegativeCropTopLeft { get; init; }
    /// <summary>SDXL <c>negative_target_size</c> (null: diffusers' default for the task).</summary>
    public HeightWidth? NegativeTargetSize { get; init; }
    /// <summary>SDXL refiner <c>aesthetic_score</c> (null: <see cref="GenerationDefaults.AestheticScore"/>).</summary>
    public double? AestheticScore { get; init; }
    /// <summary>SDXL refiner <c>negative_aesthetic_score</c> (null: <see cref="GenerationDefaults.NegativeAestheticScore"/>).</summary>
    public double? NegativeAestheticScore { get; init; }

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
