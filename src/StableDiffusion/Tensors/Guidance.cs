using System.Numerics.Tensors;

namespace StableDiffusion.Tensors;

/// <summary>Classifier-free guidance arithmetic, element for element as diffusers does it in float32.</summary>
public static class Guidance
{
    /// <summary>
    /// <c>uncond + scale·(cond − uncond)</c> into <paramref name="destination"/>. Each operation is rounded to float32
    /// separately (no fused multiply-add), which is what torch computes.
    /// </summary>
    public static void Combine(ReadOnlySpan<float> uncond, ReadOnlySpan<float> cond, float scale, Span<float> destination)
    {
        if (uncond.Length != cond.Length || destination.Length != cond.Length)
            throw new ArgumentException("uncond, cond and destination must have the same length.");
        // Vectorized, with the same three roundings per element (destination may not alias uncond: it is read last).
        if (destination.Overlaps(uncond))
        {
            for (int i = 0; i < destination.Length; i++) destination[i] = uncond[i] + scale * (cond[i] - uncond[i]);
            return;
        }
        TensorPrimitives.Subtract(cond, uncond, destination);
        TensorPrimitives.Multiply(destination, scale, destination);
        TensorPrimitives.Add(uncond, destination, destination);
    }

    /// <summary>
    /// diffusers' <c>rescale_noise_cfg</c> (Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4),
    /// in place on <paramref name="guided"/>: per image, <c>φ·guided·std(cond)/std(guided) + (1−φ)·guided</c>,
    /// with torch's unbiased standard deviation over C·H·W.
    /// </summary>
    public static void Rescale(Span<float> guided, ReadOnlySpan<float> cond, int batch, float guidanceRescale)
    {
        if (guided.Length != cond.Length || batch <= 0 || guided.Length % batch != 0)
            throw new ArgumentException("guided and cond must hold the same whole number of images.");
        int n = guided.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            var g = guided.Slice(b * n, n);
            float stdCond = StandardDeviation(cond.Slice(b * n, n));
            float stdGuided = StandardDeviation(g);
            float ratio = stdCond / stdGuided;
            float keep = 1f - guidanceRescale;
            for (int i = 0; i < n; i++)
            {
                float rescaled = g[i] * ratio;
                g[i] = guidanceRescale * rescaled + keep * g[i];
            }
        }
    }

    /// <summary>Unbiased standard deviation (torch.std default), accumulated in double as torch does on the CPU.</summary>
    public static float StandardDeviation(ReadOnlySpan<float> values)
    {
        double mean = 0, m2 = 0;
        for (int i = 0; i < values.Length; i++)
        {
            // Welford: stable for the large magnitudes of Euler-type latents.
            double delta = values[i] - mean;
            mean += delta / (i + 1);
            m2 += delta * (values[i] - mean);
        }
        return (float)Math.Sqrt(m2 / (values.Length - 1));
    }
}
