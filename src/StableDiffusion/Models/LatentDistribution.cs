using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// diffusers' <c>DiagonalGaussianDistribution</c> on one image's VAE encoder parameters [2C, h, w] (mean ‖ logvar):
/// <c>sample(generator)</c> and <c>mode()</c>, in float32 as torch computes them. Allocation-free.
/// </summary>
public static class LatentDistribution
{
    /// <summary>diffusers clamps logvar to [-30, 20] before taking the standard deviation.</summary>
    public const float LogVarMin = -30f;

    public const float LogVarMax = 20f;

    /// <summary>
    /// <c>latent_dist.sample(generator)</c> for one image: <paramref name="eps"/> receives the draw (one
    /// <c>torch.randn((1, C, h, w), generator)</c>), <paramref name="sample"/> mean + std·eps.
    /// </summary>
    public static void Sample(ReadOnlySpan<float> parameters, IRandomGenerator generator, Span<float> eps, Span<float> sample)
    {
        ArgumentNullException.ThrowIfNull(generator);
        CheckSizes(parameters, eps.Length, sample.Length);
        generator.Randn(eps);
        Sample(parameters, eps, sample);
    }

    /// <summary>
    /// mean + exp(0.5·clamp(logvar, -30, 20))·eps with a given draw: for a batch sampled by one generator, which
    /// diffusers draws as one randn over the whole batch and then applies row by row.
    /// </summary>
    public static void Sample(ReadOnlySpan<float> parameters, ReadOnlySpan<float> eps, Span<float> sample)
    {
        int n = CheckSizes(parameters, eps.Length, sample.Length);
        var mean = parameters[..n];
        var logvar = parameters[n..];
        for (int i = 0; i < n; i++)
        {
            // torch: std = exp(0.5 * logvar) (SLEEF expf), then mean + std * eps as two float32 roundings (no FMA).
            float std = TorchMath.Exp(0.5f * Math.Clamp(logvar[i], LogVarMin, LogVarMax));
            float scaled = std * eps[i];
            sample[i] = mean[i] + scaled;
        }
    }

    /// <summary><c>latent_dist.mode()</c>: the mean (the first half of the parameters).</summary>
    public static void Mode(ReadOnlySpan<float> parameters, Span<float> mean)
    {
        int n = CheckSizes(parameters, mean.Length, mean.Length);
        parameters[..n].CopyTo(mean);
    }

    private static int CheckSizes(ReadOnlySpan<float> parameters, int eps, int sample)
    {
        if (parameters.Length == 0 || parameters.Length % 2 != 0)
            throw new ArgumentException($"The parameters hold {parameters.Length} values; mean ‖ logvar needs an even, non-zero count.", nameof(parameters));
        int n = parameters.Length / 2;
        if (eps != n || sample != n)
            throw new ArgumentException($"The parameters [2C, h, w] give {n} latent values; the destinations hold {eps} and {sample}.");
        return n;
    }
}
