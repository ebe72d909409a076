using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Tests.Support;

/// <summary>Array comparisons that report where and by how much they differ.</summary>
public static class Compare
{
    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, string what, double rtol = 0)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            double excess = diff - (atol + rtol * Math.Abs(expected[i]));
            if (double.IsNaN(diff) || excess > worst)
            {
                worst = double.IsNaN(diff) ? double.PositiveInfinity : excess;
                worstAt = i;
            }
        }
        Assert.True(worstAt < 0,
            worstAt < 0 ? "" : $"{what}: element {worstAt} is {actual[worstAt]:R}, expected {expected[worstAt]:R} (|diff| {Math.Abs(actual[worstAt] - expected[worstAt]):E2} > atol {atol:E1} + rtol {rtol:E1}).");
    }

    /// <summary>Largest absolute difference.</summary>
    public static double MaxAbs(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs((double)actual[i] - expected[i]));
        return worst;
    }

    /// <summary>Asserts every pixel channel of <paramref name="actual"/> is within <paramref name="levels"/> of the PNG at <paramref name="expectedPng"/>.</summary>
    public static void Png(string expectedPng, Image<Rgb24> actual, int levels, string what)
    {
        using var expected = Image.Load<Rgb24>(expectedPng);
        Assert.Equal(expected.Width, actual.Width);
        Assert.Equal(expected.Height, actual.Height);
        int worst = 0;
        for (int y = 0; y < expected.Height; y++)
            for (int x = 0; x < expected.Width; x++)
            {
                var e = expected[x, y];
                var a = actual[x, y];
                worst = Math.Max(worst, Math.Max(Math.Abs(e.R - a.R), Math.Max(Math.Abs(e.G - a.G), Math.Abs(e.B - a.B))));
            }
        Assert.True(worst <= levels, $"{what}: a pixel differs by {worst} levels from {expectedPng} (allowed {levels}).");
    }
}
