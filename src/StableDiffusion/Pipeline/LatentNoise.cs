using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>diffusers' <c>randn_tensor</c> with a generator list: image i's [1, C, h, w] noise from generator i.</summary>
public static class LatentNoise
{
    public static float[] Draw(IReadOnlyList<IRandomGenerator> generators, LatentShape shape)
    {
        var noise = new float[shape.Length];
        for (int i = 0; i < shape.Batch; i++)
            generators[i].Randn(noise.AsSpan(i * shape.ImageLength, shape.ImageLength));
        return noise;
    }
}
