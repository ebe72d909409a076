using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The denoising loop against a reference: the timesteps fed to the UNet and the latents after every iteration.</summary>
public static class LoopAssert
{
    /// <summary>Timesteps equal in float32 (diffusers' are float32 for sigma schedulers, integral for the others).</summary>
    public static void Timesteps(double[] expected, IReadOnlyList<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
            Assert.True((float)expected[i] == (float)actual[i], $"{what} timestep {i}: {actual[i]:R}, expected {expected[i]:R}");
    }

    /// <summary>Latents after each iteration within atol 1e-3 + rtol 1e-4 (the README's tolerance for the large Euler-type magnitudes).</summary>
    public static void LatentsAfterEachStep(float[] expected, IReadOnlyList<float[]> actual, string what)
    {
        Assert.NotEmpty(actual);
        int per = expected.Length / actual.Count;
        Assert.Equal(expected.Length, per * actual.Count);
        for (int i = 0; i < actual.Count; i++)
            Compare.Close(expected.AsSpan(i * per, per), actual[i], 1e-3, $"{what} latents after iteration {i}", rtol: 1e-4);
    }
}
