using StableDiffusion.Models;
using StableDiffusion.Random;

namespace StableDiffusion.Pipeline;

/// <summary>
/// diffusers' <c>retrieve_latents(vae.encode(x), generator)</c> × scaling_factor, shared by image-to-image and inpainting:
/// the encoder gives the distribution parameters once per distinct image; each sample draws mean + std·randn from a
/// generator on the host, so seeds reproduce diffusers (an in-graph sample could not).
/// </summary>
public sealed class ImageLatents(VaeEncoder encoder, float scalingFactor, int height, int width)
{
    /// <summary>Distribution parameters [1, 2C, h, w] of one pre-processed image [1, 3, H, W].</summary>
    public float[] Encode(float[] image, CancellationToken cancellation) => encoder.EncodeParameters(image, 1, height, width, cancellation);

    /// <summary>
    /// Draws one sample of <paramref name="parameters"/> from <paramref name="generator"/> into <paramref name="latents"/>
    /// (× scaling factor, as the pipelines multiply), recording the draw and the unscaled sample.
    /// </summary>
    public void Sample(ReadOnlySpan<float> parameters, IRandomGenerator generator, Span<float> eps, Span<float> sample, Span<float> latents)
    {
        LatentDistribution.Sample(parameters, generator, eps, sample);
        for (int i = 0; i < latents.Length; i++) latents[i] = scalingFactor * sample[i];
    }
}
