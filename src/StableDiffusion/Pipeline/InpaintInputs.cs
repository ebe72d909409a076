using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The inpainting pipeline's inputs as the UNet stages need them (diffusers 0.35 <c>StableDiffusionInpaintPipeline</c>):
/// the pre-processed image and binarized mask at the processing size, the masked image, and — with
/// <c>padding_mask_crop</c> — the crop region (both inputs cropped and fill-resized) whose result is pasted back.
/// </summary>
public sealed record InpaintInputs(float[] Image, float[] Mask, float[] MaskedImage, MaskCropOverlay? Overlay)
{
    public static InpaintInputs Prepare(SourceImage image, SourceImage mask, int width, int height, int? maskCropPadding)
    {
        CropRegion? crop = maskCropPadding is int pad ? VaeImageProcessor.GetCropRegion(mask, width, height, pad) : null;
        var mode = crop is null ? VaeResizeMode.Default : VaeResizeMode.Fill;
        var pixels = VaeImageProcessor.PreprocessImage(image, width, height, mode, crop);
        var binary = VaeImageProcessor.PreprocessMask(mask, width, height, mode, crop);
        return new InpaintInputs(pixels, binary, VaeImageProcessor.MaskImage(pixels, binary),
            crop is { } region ? new MaskCropOverlay(image, mask, region) : null);
    }
}
