namespace StableDiffusion.Tests.Random;

/// <summary>Bit-level comparison of float streams, reporting the first mismatch and the largest ulp distance.</summary>
internal static class BitCompare
{
    /// <summary>Asserts that every float equals the reference bit for bit (references are float32 values stored as doubles).</summary>
    public static void Float32Exact(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, int offset, string what)
    {
        Assert.True(expected.Length <= actual.Length - offset, $"{what}: reference has more values than were generated.");
        int mismatches = 0, first = -1;
        long maxUlp = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float want = (float)expected[i];
            Assert.Equal(expected[i], (double)want); // the reference really is a float32 value
            float got = actual[offset + i];
            if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
            {
                mismatches++;
                if (first < 0) first = i;
                maxUlp = Math.Max(maxUlp, UlpDistance(want, got));
            }
        }
        Assert.True(mismatches == 0,
            $"{what}: {mismatches} of {expected.Length} values differ (first at {offset + first}: " +
            $"expected {(first >= 0 ? expected[first] : 0):R}, got {(first >= 0 ? actual[offset + first] : 0):R}; max {maxUlp} ulp).");
    }

    /// <summary>Asserts exact float64 equality (bit for bit).</summary>
    public static void Float64Exact(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, int offset, string what)
    {
        Assert.True(expected.Length <= actual.Length - offset, $"{what}: reference has more values than were generated.");
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[offset + i]))
                Assert.Fail($"{what}: value {offset + i} differs: expected {expected[i]:R}, got {actual[offset + i]:R}.");
        }
    }

    public static long UlpDistance(float a, float b)
    {
        static long Ordered(float f)
        {
            int bits = BitConverter.SingleToInt32Bits(f);
            return bits < 0 ? int.MinValue - (long)bits : bits;
        }
        return Math.Abs(Ordered(a) - Ordered(b));
    }

    /// <summary>float64 sum in order (the reference sum_f64 is NumPy's pairwise sum, so compare with a tolerance).</summary>
    public static double Sum(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return sum;
    }

    public static double Sum(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (double v in values) sum += v;
        return sum;
    }
}
