using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// diffusers' legacy inpainting with a 4-channel UNet: after every step the unmasked region is reset to the init image's
/// latents noised to the next timestep (the image latents themselves after the last step):
/// <c>latents = (1 − m)·add_noise(image_latents, noise, t[i+1]) + m·latents</c>.
/// </summary>
public sealed class InpaintBlend(float[] imageLatents, float[] noise, float[] mask, int images)
{
    private readonly float[] _proper = new float[imageLatents.Length];
    private readonly double[] _timesteps = new double[images];

    /// <summary>After iteration <paramref name="iteration"/> of <paramref name="timesteps"/> (the iterations that run).</summary>
    public void Apply(int iteration, IReadOnlyList<double> timesteps, IScheduler scheduler, Span<float> latents)
    {
        ReadOnlySpan<float> proper = imageLatents;
        if (iteration < timesteps.Count - 1)
        {
            Array.Fill(_timesteps, timesteps[iteration + 1]);
            scheduler.AddNoise(imageLatents, noise, _timesteps, _proper);
            proper = _proper;
        }
        int perImage = latents.Length / images;
        int planes = mask.Length / images; // one mask plane [h, w] per image
        for (int i = 0; i < images; i++)
        {
            var m = mask.AsSpan(i * planes, planes);
            for (int c = 0; c < perImage / planes; c++)
            {
                int offset = i * perImage + c * planes;
                var l = latents.Slice(offset, planes);
                var p = proper.Slice(offset, planes);
                for (int k = 0; k < planes; k++) l[k] = (1f - m[k]) * p[k] + m[k] * l[k];
            }
        }
    }
}
