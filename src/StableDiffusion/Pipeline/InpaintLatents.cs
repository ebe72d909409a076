using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Inpainting start latents, mask and masked-image latents (diffusers 0.35 <c>StableDiffusionInpaintPipeline</c>). The
/// generators draw in diffusers' order: [1] the init image's VAE sample — only when strength &lt; 1 or the UNet has 4
/// channels, and from generator 0 (one input image); [2] each image's noise from its generator; [3] the masked image's
/// VAE sample, from generator 0. A 9-channel UNet gets <c>cat(latents, mask, masked_image_latents)</c>; a 4-channel
/// UNet the legacy blend after each step.
/// </summary>
public sealed class InpaintLatents(Func<int, int, ImageLatents> encoder, int unetChannels) : ILatentsStage
{
    /// <summary>UNet sample channels of the inpainting layout: 4 latents + 1 mask + 4 masked-image latents.</summary>
    public const int InpaintingChannels = 9;

    public PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation)
    {
        var settings = request.Settings;
        var shape = request.Shape;
        int b = shape.Batch, n = shape.ImageLength, h = shape.Height, w = shape.Width;
        int height = settings.Height!.Value, width = settings.Width!.Value;
        double strength = settings.EffectiveStrength!.Value;
        bool strengthMax = strength == 1.0; // diffusers compares exactly
        bool legacy = unetChannels != InpaintingChannels;

        var inputs = InpaintInputs.Prepare(settings.InitImage!, settings.Mask!, width, height, settings.MaskCropPadding);
        var vae = encoder(height, width);
        var scheduler = request.Scheduler;
        int begin = StrengthSchedule.Apply(scheduler, settings.Steps, strength);
        var generators = request.Generators;

        // [1] image latents, [2] noise, [3] masked-image latents; eps/samples hold the VAE draws in that order.
        bool imageDrawn = legacy || !strengthMax;
        var eps = new float[(imageDrawn ? 2 : 1) * n];
        var samples = new float[eps.Length];
        float[]? imageParameters = null;
        float[]? imageLatents = null;
        if (imageDrawn)
        {
            imageParameters = vae.Encode(inputs.Image, cancellation);
            imageLatents = SampleOnce(vae, imageParameters, request, eps.AsSpan(0, n), samples.AsSpan(0, n), b, n);
        }
        var noise = LatentNoise.Draw(generators, shape);
        var maskedParameters = vae.Encode(inputs.MaskedImage, cancellation);
        var maskedLatents = SampleOnce(vae, maskedParameters, request, eps.AsSpan(eps.Length - n), samples.AsSpan(eps.Length - n), b, n);

        var start = new float[shape.Length];
        if (strengthMax)
        {
            float sigma = scheduler.InitNoiseSigma;
            for (int i = 0; i < start.Length; i++) start[i] = noise[i] * sigma;
        }
        else
        {
            var t = new double[b];
            Array.Fill(t, scheduler.Timesteps[begin]);
            scheduler.AddNoise(imageLatents!, noise, t, start);
        }

        // Latent-size mask: F.interpolate(mask, size=(h, w)) (nearest), repeated to the batch.
        var mask = NearestResize(inputs.Mask, height, width, h, w);
        int rows = request.Guided ? 2 * b : b;
        var maskRows = new float[rows * h * w];
        var maskedRows = new float[rows * n];
        for (int r = 0; r < rows; r++)
        {
            mask.CopyTo(maskRows.AsSpan(r * h * w));
            maskedLatents.AsSpan((r % b) * n, n).CopyTo(maskedRows.AsSpan(r * n));
        }
        request.Observer?.OnLatentsPrepared(new LatentsInfo
        {
            Image = inputs.Image, Mask = inputs.Mask, MaskedImage = inputs.MaskedImage,
            VaeParameters = imageParameters is null ? maskedParameters : [.. imageParameters, .. maskedParameters],
            VaeEps = eps, VaeSamples = samples, ImageLatents = imageLatents,
            Noise = noise, StartLatents = start, BeginIndex = begin, MaskLatents = maskRows, MaskedImageLatents = maskedRows,
        });

        if (legacy)
            return new PreparedLatents
            {
                Latents = start, BeginIndex = begin, Overlay = inputs.Overlay,
                Blend = new InpaintBlend(imageLatents!, noise, maskRows.AsSpan(0, b * h * w).ToArray(), b),
            };
        // The UNet's extra channels per row: mask (1), masked-image latents (4).
        int extra = 1 + shape.Channels;
        var channels = new float[rows * extra * h * w];
        for (int r = 0; r < rows; r++)
        {
            mask.CopyTo(channels.AsSpan(r * extra * h * w));
            maskedRows.AsSpan(r * n, n).CopyTo(channels.AsSpan(r * extra * h * w + h * w));
        }
        return new PreparedLatents { Latents = start, BeginIndex = begin, ExtraChannels = channels, ExtraChannelCount = extra, Overlay = inputs.Overlay };
    }

    /// <summary>One VAE sample from generator 0 (the single input image), scaled and repeated to the batch.</summary>
    private static float[] SampleOnce(ImageLatents vae, float[] parameters, LatentsRequest request, Span<float> eps, Span<float> sample, int b, int n)
    {
        var latents = new float[b * n];
        vae.Sample(parameters, request.Generators[0], eps, sample, latents.AsSpan(0, n));
        for (int i = 1; i < b; i++) latents.AsSpan(0, n).CopyTo(latents.AsSpan(i * n));
        return latents;
    }

    /// <summary>torch's <c>F.interpolate(mode="nearest")</c>: source index floor(dst · in/out).</summary>
    private static float[] NearestResize(float[] plane, int height, int width, int h, int w)
    {
        var result = new float[h * w];
        float sy = (float)height / h, sx = (float)width / w;
        for (int y = 0; y < h; y++)
        {
            int srcY = Math.Min((int)MathF.Floor(y * sy), height - 1);
            for (int x = 0; x < w; x++)
                result[y * w + x] = plane[srcY * width + Math.Min((int)MathF.Floor(x * sx), width - 1)];
        }
        return result;
    }
}
