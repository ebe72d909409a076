using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 4: latents / scaling_factor (diffusers 0.35 divides; 0.12 multiplied by the reciprocal) → VAE decoder (image by
/// image with VAE slicing) → <c>(x/2 + 0.5).clamp(0, 1)</c> → 8-bit as <c>numpy_to_pil</c>; with a mask crop, the result is
/// pasted back onto the init image (<c>apply_overlay</c>). Decoded NaN/Inf never becomes an image: the batch is decoded
/// again by <paramref name="float32Decode"/> when the VAE is float16 and one is given, else <see cref="VaeOverflowException"/>.
/// </summary>
/// <param name="decode">The VAE decoder in use.</param>
/// <param name="vaePrecision">Its precision ("float16" or "float32"), for the overflow handling and message.</param>
/// <param name="float32Decode">A float32 decoder of the same VAE to fall back on when a float16 one overflows (diffusers' force_upcast).</param>
public sealed class DecodeStage(Func<float[], LatentShape, CancellationToken, (float[] Pixels, int Height, int Width)> decode,
    string vaePrecision = "float32", Func<float[], LatentShape, CancellationToken, (float[] Pixels, int Height, int Width)>? float32Decode = null)
{
    /// <summary>Time in the VAE decoder, and in post-processing, of the last <see cref="Decode"/>.</summary>
    public (TimeSpan Vae, TimeSpan Postprocess) Timings { get; private set; }

    public (float[] Pixels, Image<Rgb24> Image)[] Decode(float[] latents, LatentShape shape, float scalingFactor,
        MaskCropOverlay? overlay, GenerationObserver? observer, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < latents.Length; i++) latents[i] /= scalingFactor;
        var (decoded, height, width) = decode(latents, shape, cancellation);
        long nonFinite = NonFinite(decoded);
        if (nonFinite > 0)
        {
            // Non-finite latents are the UNet's doing (or the scheduler's): blaming the VAE would send the user astray.
            if (NonFinite(latents) is > 0 and var bad)
                throw new InvalidOperationException($"The denoised latents hold {bad} NaN/Inf values before the VAE decoder: the UNet or the " +
                    "scheduler overflowed (a float16 UNet can), so no image was written. Try the float32 model or a lower guidance scale.");
            if (vaePrecision != "float16" || float32Decode is null) throw new VaeOverflowException(vaePrecision, nonFinite, decoded.Length);
            (decoded, height, width) = float32Decode(latents, shape, cancellation);
            if (NonFinite(decoded) is > 0 and var still) throw new VaeOverflowException("float32", still, decoded.Length);
        }
        var vae = clock.Elapsed;
        observer?.OnDecoded(latents, decoded);
        int imageLength = height * width * 3;
        var images = new (float[] Pixels, Image<Rgb24> Image)[shape.Batch];
        for (int i = 0; i < shape.Batch; i++)
        {
            // Each image converts straight into its own array: no batch-sized copy in between.
            var own = new float[imageLength];
            ImageConversion.ToUnitRange(decoded.AsSpan(i * imageLength, imageLength), 1, height, width, own);
            var image = ImageConversion.ToImage(own, 0, height, width);
            images[i] = overlay is null ? (own, image) : overlay.Apply(image);
        }
        Timings = (vae, clock.Elapsed - vae);
        return images;
    }

    private static long NonFinite(float[] values)
    {
        long count = 0;
        foreach (var v in values)
            if (!float.IsFinite(v)) count++;
        return count;
    }
}
