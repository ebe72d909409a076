using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Prompts;

/// <summary>The emphasis formulas of sd_emphasis.py on a small hand-computed example (2 tokens × 2 hidden).</summary>
public sealed class A1111EmphasisTests
{
    [Fact]
    public void OriginalRestoresTheMean()
    {
        float[] z = [1, 2, 3, 4];
        A1111Emphasis.Apply(EmphasisMode.Original, z, [1f, 2f]);
        // mean 2.5 before; z × m = [1, 2, 6, 8], mean 4.25; then × 2.5 / 4.25.
        float r = 2.5f / 4.25f;
        Assert.Equal([1 * r, 2 * r, 6 * r, 8 * r], z);
        Assert.Equal(2.5, z.Average(), 6);
    }

    [Fact]
    public void NoNormOnlyMultiplies()
    {
        float[] z = [1, 2, 3, 4];
        A1111Emphasis.Apply(EmphasisMode.NoNorm, z, [0.5f, -1f]);
        Assert.Equal([0.5f, 1f, -3f, -4f], z);
    }

    [Theory]
    [InlineData(EmphasisMode.None)]
    [InlineData(EmphasisMode.Ignore)]
    public void NoneAndIgnoreLeaveZAlone(EmphasisMode mode)
    {
        float[] z = [1, 2, 3, 4];
        A1111Emphasis.Apply(mode, z, [3f, 3f]);
        Assert.Equal([1f, 2f, 3f, 4f], z);
    }

    [Fact]
    public void MultipliersMustDivideZ()
    {
        Assert.Throws<ArgumentException>(() => A1111Emphasis.Apply(EmphasisMode.NoNorm, new float[5], [1f, 1f]));
    }
}
