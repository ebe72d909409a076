using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Draws step noise as diffusers' <c>randn_tensor</c> does: with one generator per image, image b gets
/// one <c>randn</c> call of shape [1, C, H, W] from its own generator; a single generator for a batch
/// fills the whole [B, C, H, W] tensor in one call.
/// </summary>
public static class NoiseSampler
{
    public static void Fill(Span<float> destination, LatentShape shape, IReadOnlyList<IRandomGenerator>? generators, string schedulerName)
    {
        if (generators is null || generators.Count == 0)
            throw new ArgumentException(
                $"{schedulerName} is stochastic: pass one random generator per image of the batch to Step.", nameof(generators));
        if (destination.Length != shape.Length)
            throw new ArgumentException($"Noise buffer has {destination.Length} elements, the shape {shape} needs {shape.Length}.", nameof(destination));
        if (generators.Count == 1)
        {
            generators[0].Randn(destination);
            return;
        }
        if (generators.Count != shape.Batch)
            throw new ArgumentException(
                $"{schedulerName}: {generators.Count} generators were given for a batch of {shape.Batch}; give one per image (or one for all).",
                nameof(generators));
        int n = shape.ImageLength;
        for (int b = 0; b < shape.Batch; b++)
            generators[b].Randn(destination.Slice(b * n, n));
    }
}
