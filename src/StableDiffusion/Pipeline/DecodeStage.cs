using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 4: latents / scaling_factor (diffusers 0.35 divides; 0.12 multiplied by the reciprocal) → VAE decoder (image by
/// image with VAE slicing) → <c>(x/2 + 0.5).clamp(0, 1)</c> → 8-bit as <c>numpy_to_pil</c>; with a mask crop, the result is
/// pasted back onto the init image (<c>apply_overlay</c>).
/// </summary>
public sealed class DecodeStage(Func<float[], LatentShape, CancellationToken, (float[] Pixels, int Height, int Width)> decode)
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
}
