namespace StableDiffusion.Random;

/// <summary>
/// A seeded source of Gaussian noise. One instance per image, as diffusers does with a list of
/// generators, so that any image can be regenerated alone from its seed.
/// </summary>
public interface IRandomGenerator
{
    /// <summary>The seed the generator was created with.</summary>
    ulong Seed { get; }

    /// <summary>
    /// Fills <paramref name="destination"/> as one <c>randn</c> call for a tensor of
    /// <c>destination.Length</c> elements. The call boundary matters: torch uses another
    /// algorithm below 16 elements, so one call for N elements is not N calls for one.
    /// </summary>
    void Randn(Span<float> destination);
}
