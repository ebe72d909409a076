namespace StableDiffusion.Imaging;

/// <summary>
/// diffusers 0.35.2 <c>VaeImageProcessor</c> for PIL inputs: the image processor of img2img/inpainting
/// (<c>do_normalize</c>), the inpainting mask processor (<c>do_binarize</c>, <c>do_convert_grayscale</c>),
/// <c>get_crop_region</c> and <c>apply_overlay</c> for <c>padding_mask_crop</c>. Everything resizes with
/// <see cref="PilResample"/>, so the tensors equal diffusers' bit for bit.
/// </summary>
/// <remarks>
/// Order of an inpainting call: <see cref="GetCropRegion"/> on the original mask (when cropping), then
/// <see cref="PreprocessImage"/> and <see cref="PreprocessMask"/> with that region and <see cref="VaeResizeMode.Fill"/>,
/// <see cref="MaskImage"/>, the denoising, and finally <see cref="ApplyOverlay"/> of the generated image onto the
/// original.
/// </remarks>
public static class VaeImageProcessor
{
    /// <summary>Stable Diffusion's VAE downsamples by 8 (<c>2 ** (len(block_out_channels) - 1)</c>).</summary>
    public const int DefaultVaeScaleFactor = 8;

    /// <summary>diffusers' image normalisation of each 8-bit level: <c>2 * (v / 255) - 1</c> in float32, as torch computes it.</summary>
    private static readonly float[] NormalizedLevels = Enumerable.Range(0, 256).Select(v => 2f * (v / 255f) - 1f).ToArray();

    /// <summary><c>get_default_height_width</c> without a requested size: the image's size rounded down to the scale factor.</summary>
    public static (int Width, int Height) GetDefaultSize(SourceImage image, int vaeScaleFactor = DefaultVaeScaleFactor) =>
        GetProcessingSize(image, null, null, vaeScaleFactor);

    /// <summary>
    /// <c>get_default_height_width(image, height, width)</c>: the requested size, or the image's where not given, each
    /// rounded DOWN to a multiple of <paramref name="vaeScaleFactor"/> (87×70 → 80×64).
    /// </summary>
    public static (int Width, int Height) GetProcessingSize(SourceImage image, int? width, int? height, int vaeScaleFactor = DefaultVaeScaleFactor)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(vaeScaleFactor, 1);
        int w = width ?? image.Width, h = height ?? image.Height;
        return (w - w % vaeScaleFactor, h - h % vaeScaleFactor);
    }

    /// <summary>
    /// <c>image_processor.preprocess(image, height, width, resize_mode, crops_coords)</c> of an image the caller has
    /// converted to RGB (as diffusers' callers must; done here first): crop, resize when the size differs, then
    /// <c>2 * (v / 255) - 1</c>. Returns NCHW <c>[3, height, width]</c> float32.
    /// </summary>
    /// <param name="image">The init image, any mode.</param>
    /// <param name="width">The processing width (see <see cref="GetProcessingSize"/>).</param>
    /// <param name="height">The processing height.</param>
    /// <param name="resizeMode"><see cref="VaeResizeMode.Fill"/> when cropping for <c>padding_mask_crop</c>.</param>
    /// <param name="crop">The crop region from <see cref="GetCropRegion"/>, applied before resizing.</param>
    public static float[] PreprocessImage(SourceImage image, int width, int height, VaeResizeMode resizeMode = VaeResizeMode.Default,
        CropRegion? crop = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        SourceImage rgb = PilConvert.Convert(image, PixelMode.Rgb);
        if (crop is { } region)
            rgb = Crop(rgb, region);
        byte[] pixels = PilConvert.Convert(Resize(rgb, width, height, resizeMode), PixelMode.Rgb).Pixels;

        int plane = width * height;
        var result = new float[3 * plane];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                result[c * plane + i] = NormalizedLevels[pixels[i * 3 + c]];
        return result;
    }

    /// <summary>
    /// <c>mask_processor.preprocess(mask, height, width, resize_mode, crops_coords)</c>: crop, resize in the mask's own
    /// mode (an RGB mask is resized in RGB), convert("L"), <c>v / 255</c>, binarize (<c>&lt; 0.5 → 0</c>, else 1).
    /// Returns <c>[1, height, width]</c>; 1 = repaint.
    /// </summary>
    public static float[] PreprocessMask(SourceImage mask, int width, int height, VaeResizeMode resizeMode = VaeResizeMode.Default,
        CropRegion? crop = null)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (crop is { } region)
            mask = Crop(mask, region);
        byte[] grey = PilConvert.Convert(Resize(mask, width, height, resizeMode), PixelMode.L).Pixels;
        var result = new float[grey.Length];
        for (int i = 0; i < grey.Length; i++)
            result[i] = grey[i] / 255f < 0.5f ? 0f : 1f;
        return result;
    }

    /// <summary>
    /// The inpainting pipeline's <c>masked_image = init_image * (mask_condition &lt; 0.5)</c>: the preprocessed image with
    /// the repaint region zeroed (a product, so negative values become −0 as in torch).
    /// </summary>
    /// <param name="image">NCHW <c>[3, H, W]</c> from <see cref="PreprocessImage"/>.</param>
    /// <param name="mask"><c>[1, H, W]</c> from <see cref="PreprocessMask"/>.</param>
    public static float[] MaskImage(ReadOnlySpan<float> image, ReadOnlySpan<float> mask)
    {
        if (mask.Length == 0 || image.Length % mask.Length != 0)
            throw new ArgumentException($"An image of {image.Length} values does not have whole planes of {mask.Length} mask values.");
        var result = new float[image.Length];
        for (int start = 0; start < image.Length; start += mask.Length)
            for (int i = 0; i < mask.Length; i++)
                result[start + i] = image[start + i] * (mask[i] < 0.5f ? 1f : 0f);
        return result;
    }

    /// <summary>
    /// <c>resize(image, height, width, resize_mode)</c>: <see cref="VaeResizeMode.Default"/> stretches with Lanczos (the
    /// same instance back when the size is already right); Fill and Crop return a new RGB image as diffusers does.
    /// </summary>
    public static SourceImage Resize(SourceImage image, int width, int height, VaeResizeMode mode = VaeResizeMode.Default) => mode switch
    {
        VaeResizeMode.Default => PilResample.Resize(image, width, height),
        VaeResizeMode.Fill => ResizeAndFill(image, width, height),
        VaeResizeMode.Crop => ResizeAndCrop(image, width, height),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown resize mode."),
    };

    /// <summary>PIL's <c>image.crop(region)</c>.</summary>
    public static SourceImage Crop(SourceImage image, CropRegion region) => PilImageOps.Crop(image, region);

    /// <summary>
    /// <c>get_crop_region(mask, width, height, pad)</c>: the bounding box of the mask's non-zero pixels (after
    /// convert("L")), grown by <paramref name="pad"/> and clamped, then widened or heightened to the processing aspect
    /// ratio <c>width / height</c>, shifted back inside the image where it overflows.
    /// </summary>
    /// <exception cref="ArgumentException">The mask is black everywhere (diffusers would return an inverted box).</exception>
    public static CropRegion GetCropRegion(SourceImage mask, int width, int height, int pad)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        byte[] grey = PilConvert.Convert(mask, PixelMode.L).Pixels;
        int w = mask.Width, h = mask.Height;

        int left = 0, right = w - 1, top = 0, bottom = h - 1;
        while (left < w && ColumnIsBlack(grey, w, h, left)) left++;
        if (left == w)
            throw new ArgumentException($"The mask {mask} has no pixel to repaint, so it has no crop region.", nameof(mask));
        while (ColumnIsBlack(grey, w, h, right)) right--;
        while (RowIsBlack(grey, w, top)) top++;
        while (RowIsBlack(grey, w, bottom)) bottom--;

        // diffusers counts the black columns/rows from each side: left, w - 1 - right, top, h - 1 - bottom.
        int x1 = Math.Max(left - pad, 0), y1 = Math.Max(top - pad, 0);
        int x2 = Math.Min(right + 1 + pad, w), y2 = Math.Min(bottom + 1 + pad, h);

        double ratioCropRegion = (double)(x2 - x1) / (y2 - y1);
        double ratioProcessing = (double)width / height;
        if (ratioCropRegion > ratioProcessing)
        {
            int diff = (int)((x2 - x1) / ratioProcessing - (y2 - y1));
            (y1, y2) = Expand(y1, y2, diff, h);
        }
        else
        {
            int diff = (int)((y2 - y1) * ratioProcessing - (x2 - x1));
            (x1, x2) = Expand(x1, x2, diff, w);
        }
        return new CropRegion(x1, y1, x2, y2);
    }

    /// <summary>
    /// <c>apply_overlay(mask, init_image, image, crop_coords)</c>: the generated <paramref name="image"/> (resized with
    /// "crop" into the crop box of a black canvas when <paramref name="crop"/> is given) with the original image
    /// alpha-composited on top through <c>invert(mask.convert("L"))</c>, premultiplied as PIL's RGBa paste is.
    /// The init image and mask are first resized to the generated image's size (no-op when equal); pass the ORIGINAL
    /// init image and mask, in their own modes (an RGBA original's alpha takes part, as in diffusers). Returns RGB.
    /// </summary>
    public static SourceImage ApplyOverlay(SourceImage mask, SourceImage initImage, SourceImage image, CropRegion? crop = null)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(initImage);
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height;
        initImage = Resize(initImage, width, height);
        mask = Resize(mask, width, height);

        // init_image_masked: a blank RGBa canvas, init_image.convert("RGBA").convert("RGBa") pasted through the
        // inverted mask, converted back to RGBA.
        byte[] original = PilConvert.ConvertedPixels(initImage, PixelMode.Rgba);
        PilConvert.Premultiply(original);
        byte[] keep = PilConvert.ConvertedPixels(mask, PixelMode.L);
        for (int i = 0; i < keep.Length; i++)
            keep[i] = (byte)(255 - keep[i]);
        var initMasked = new byte[width * height * 4];
        PilImageOps.PasteThroughMask(initMasked, original, keep, 4);
        PilConvert.Unpremultiply(initMasked);

        if (crop is { } region)
        {
            // A transparent RGBA canvas with the fitted image pasted (opaque) at the box, then convert("RGB"): black around.
            var canvas = new byte[width * height * 4];
            PilImageOps.Paste(canvas, width, height, PixelMode.Rgba, Resize(image, region.Width, region.Height, VaeResizeMode.Crop),
                region.Left, region.Top);
            image = PilConvert.Convert(new SourceImage(width, height, PixelMode.Rgba, canvas), PixelMode.Rgb);
        }

        byte[] composite = PilConvert.ConvertedPixels(image, PixelMode.Rgba);
        PilImageOps.AlphaComposite(composite, initMasked);
        return PilConvert.Convert(new SourceImage(width, height, PixelMode.Rgba, composite, image.FileName), PixelMode.Rgb);
    }

    /// <summary>
    /// <c>_resize_and_fill</c>: fit inside width × height keeping the aspect ratio (Lanczos), centre on a black RGB
    /// canvas, and fill each empty band with PIL's default (bicubic) resize of a zero-height/zero-width box on the
    /// first and last row/column, which stretches the edge into the band.
    /// </summary>
    private static SourceImage ResizeAndFill(SourceImage image, int width, int height)
    {
        double ratio = (double)width / height, sourceRatio = (double)image.Width / image.Height;
        int fittedWidth = ratio < sourceRatio ? width : image.Width * height / image.Height;
        int fittedHeight = ratio >= sourceRatio ? height : image.Height * width / image.Width;

        SourceImage resized = PilResample.Resize(image, fittedWidth, fittedHeight);
        var canvas = new byte[width * height * 3];
        PilImageOps.Paste(canvas, width, height, PixelMode.Rgb, resized, width / 2 - fittedWidth / 2, height / 2 - fittedHeight / 2);

        if (ratio < sourceRatio)
        {
            int fillHeight = height / 2 - fittedHeight / 2;
            if (fillHeight > 0)
            {
                PilImageOps.Paste(canvas, width, height, PixelMode.Rgb,
                    PilResample.Resize(resized, width, fillHeight, PilFilter.Bicubic, new PilBox(0, 0, width, 0)), 0, 0);
                PilImageOps.Paste(canvas, width, height, PixelMode.Rgb,
                    PilResample.Resize(resized, width, fillHeight, PilFilter.Bicubic, new PilBox(0, resized.Height, width, resized.Height)),
                    0, fillHeight + fittedHeight);
            }
        }
        else if (ratio > sourceRatio)
        {
            int fillWidth = width / 2 - fittedWidth / 2;
            if (fillWidth > 0)
            {
                PilImageOps.Paste(canvas, width, height, PixelMode.Rgb,
                    PilResample.Resize(resized, fillWidth, height, PilFilter.Bicubic, new PilBox(0, 0, 0, height)), 0, 0);
                PilImageOps.Paste(canvas, width, height, PixelMode.Rgb,
                    PilResample.Resize(resized, fillWidth, height, PilFilter.Bicubic, new PilBox(resized.Width, 0, resized.Width, height)),
                    fillWidth + fittedWidth, 0);
            }
        }
        return new SourceImage(width, height, PixelMode.Rgb, canvas, image.FileName);
    }

    /// <summary>
    /// <c>_resize_and_crop</c>: cover width × height keeping the aspect ratio (Lanczos), centre on a black RGB canvas,
    /// the excess cut off.
    /// </summary>
    private static SourceImage ResizeAndCrop(SourceImage image, int width, int height)
    {
        double ratio = (double)width / height, sourceRatio = (double)image.Width / image.Height;
        int coverWidth = ratio > sourceRatio ? width : image.Width * height / image.Height;
        int coverHeight = ratio <= sourceRatio ? height : image.Height * width / image.Width;

        SourceImage resized = PilResample.Resize(image, coverWidth, coverHeight);
        var canvas = new byte[width * height * 3];
        PilImageOps.Paste(canvas, width, height, PixelMode.Rgb, resized, width / 2 - coverWidth / 2, height / 2 - coverHeight / 2);
        return new SourceImage(width, height, PixelMode.Rgb, canvas, image.FileName);
    }

    /// <summary>get_crop_region step 3 along one axis: grow [low, high) by <paramref name="diff"/>, then back inside [0, size].</summary>
    private static (int Low, int High) Expand(int low, int high, int diff, int size)
    {
        int half = diff >> 1; // Python's floor division by 2
        low -= half;
        high += diff - half;
        if (high >= size)
        {
            int overflow = high - size;
            high -= overflow;
            low -= overflow;
        }
        if (low < 0)
        {
            high -= low;
            low = 0;
        }
        if (high >= size)
            high = size;
        return (low, high);
    }

    private static bool ColumnIsBlack(byte[] grey, int width, int height, int x)
    {
        for (int y = 0; y < height; y++)
            if (grey[y * width + x] != 0)
                return false;
        return true;
    }

    private static bool RowIsBlack(byte[] grey, int width, int y) => !grey.AsSpan(y * width, width).ContainsAnyExcept((byte)0);
}
