using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// diffusers' <c>apply_overlay(mask_image, original_image, image, crops_coords)</c> for <c>padding_mask_crop</c>: the
/// generated crop is fitted into its box on the original's canvas and the original is composited on top through the
/// inverted (soft) mask, so only the masked region changes.
/// </summary>
public sealed class MaskCropOverlay(SourceImage initImage, SourceImage mask, CropRegion region)
{
    public CropRegion Region => region;

    /// <summary>The overlaid 8-bit image and its float form in [0, 1] (NHWC), replacing the generated crop.</summary>
    public (float[] Pixels, Image<Rgb24> Image) Apply(Image<Rgb24> generated)
    {
        var result = VaeImageProcessor.ApplyOverlay(mask, initImage, SourceImageReader.FromImage(generated), region);
        generated.Dispose();
        var image = Image.LoadPixelData<Rgb24>(result.Pixels, result.Width, result.Height);
        var pixels = new float[result.Pixels.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = result.Pixels[i] / 255f;
        return (pixels, image);
    }
}
