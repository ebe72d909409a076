namespace StableDiffusion.Pipeline;

/// <summary>
/// SDXL's micro-conditioning <c>time_ids</c> as diffusers 0.35.2 builds them (<c>_get_add_time_ids</c>), one row per UNet row:
/// <list type="bullet">
/// <item>text-to-image: <c>[orig_h, orig_w, crop_top, crop_left, target_h, target_w]</c>, defaults (H, W, 0, 0, H, W); the
/// negative row uses the negative sizes only when both negative_original_size and negative_target_size are given, else equals
/// the positive row; with guidance <c>cat([neg, pos]).repeat(B, 1)</c> gives rows [neg, pos, neg, pos, …] although the
/// embeddings are [neg×B, pos×B] (diffusers' own order, kept for parity).</item>
/// <item>image-to-image: pos = orig + crops + target, neg = neg_orig + crops (the positive ones) + neg_target; with the
/// aesthetic score (the refiner) pos = orig + crops + (score,), neg = neg_orig + neg_crops + (neg_score,); rows [neg×B, pos×B].</item>
/// </list>
/// </summary>
public static class SdxlTimeIds
{
    /// <summary>Values per row: 6, or 5 with the aesthetic score.</summary>
    public static int Width(bool aestheticScore) => aestheticScore ? 5 : 6;

    public static float[] Build(SdxlConditioning settings, int height, int width, int images, bool guided, bool imageToImage, bool aestheticScore)
    {
        var size = new HeightWidth(height, width);
        var original = settings.OriginalSize ?? size;
        var target = settings.TargetSize ?? size;
        var crop = settings.CropTopLeft ?? new TopLeft(0, 0);
        double[] pos, neg;
        if (!imageToImage)
        {
            pos = [original.Height, original.Width, crop.Top, crop.Left, target.Height, target.Width];
            neg = settings is { NegativeOriginalSize: { } no, NegativeTargetSize: { } nt }
                ? [no.Height, no.Width, (settings.NegativeCropTopLeft ?? new TopLeft(0, 0)).Top, (settings.NegativeCropTopLeft ?? new TopLeft(0, 0)).Left, nt.Height, nt.Width]
                : pos;
        }
        else
        {
            var negOriginal = settings.NegativeOriginalSize ?? original;
            var negTarget = settings.NegativeTargetSize ?? target;
            var negCrop = settings.NegativeCropTopLeft ?? new TopLeft(0, 0);
            if (aestheticScore)
            {
                pos = [original.Height, original.Width, crop.Top, crop.Left, settings.AestheticScore ?? GenerationDefaults.AestheticScore];
                neg = [negOriginal.Height, negOriginal.Width, negCrop.Top, negCrop.Left, settings.NegativeAestheticScore ?? GenerationDefaults.NegativeAestheticScore];
            }
            else
            {
                pos = [original.Height, original.Width, crop.Top, crop.Left, target.Height, target.Width];
                neg = [negOriginal.Height, negOriginal.Width, crop.Top, crop.Left, negTarget.Height, negTarget.Width];
            }
        }
        int n = pos.Length;
        int rows = guided ? 2 * images : images;
        var result = new float[rows * n];
        for (int r = 0; r < rows; r++)
        {
            // txt2img: [neg, pos] repeated per image; img2img: [neg×B, pos×B]; no guidance: pos×B.
            bool negative = guided && (imageToImage ? r < images : r % 2 == 0);
            var row = negative ? neg : pos;
            for (int k = 0; k < n; k++) result[r * n + k] = (float)row[k]; // torch.tensor(list) of Python floats/ints → float32
        }
        return result;
    }
}
