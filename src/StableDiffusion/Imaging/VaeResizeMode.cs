namespace StableDiffusion.Imaging;

/// <summary>diffusers' <c>VaeImageProcessor.resize(..., resize_mode)</c>.</summary>
public enum VaeResizeMode
{
    /// <summary>"default": stretch to the size (Lanczos), aspect ratio not kept.</summary>
    Default,

    /// <summary>
    /// "fill": fit inside the size keeping the aspect ratio, centre it, and fill the empty bands from the edge rows or
    /// columns (what inpainting with <c>padding_mask_crop</c> uses).
    /// </summary>
    Fill,

    /// <summary>"crop": cover the size keeping the aspect ratio, centre it, cut the excess (apply_overlay uses it).</summary>
    Crop,
}
