namespace StableDiffusion.Prompts;

/// <summary>
/// A1111's emphasis math (<c>modules/sd_emphasis.py</c>) on one chunk index of a batch: the text encoder output
/// z [batch, tokens, hidden] (float32, row-major) and one multiplier per token [batch, tokens].
/// </summary>
public static class A1111Emphasis
{
    /// <summary>Applies <paramref name="mode"/> to <paramref name="z"/> in place.</summary>
    /// <remarks>
    /// 'Original' computes m = mean(z) over the whole batch tensor, z *= multiplier, then z *= m / mean(z). When the text
    /// encoder's final layer norm has no affine shift, mean(z) is 0 and this is 0/0 in A1111 too (NaN or noise).
    /// Means are summed in double and rounded to float32, as torch's float32 mean is to within its rounding.
    /// </remarks>
    public static void Apply(EmphasisMode mode, Span<float> z, ReadOnlySpan<float> multipliers)
    {
        if (multipliers.Length == 0 || z.Length % multipliers.Length != 0)
            throw new ArgumentException($"z has {z.Length} values, not a whole number of hidden vectors for {multipliers.Length} multipliers.", nameof(z));
        switch (mode)
        {
            case EmphasisMode.None:
            case EmphasisMode.Ignore:
                return;
            case EmphasisMode.NoNorm:
                Multiply(z, multipliers);
                return;
            case EmphasisMode.Original:
                float originalMean = Mean(z);
                Multiply(z, multipliers);
                float newMean = Mean(z);
                float ratio = originalMean / newMean;
                for (int i = 0; i < z.Length; i++) z[i] *= ratio;
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown emphasis mode.");
        }
    }

    private static void Multiply(Span<float> z, ReadOnlySpan<float> multipliers)
    {
        int hidden = z.Length / multipliers.Length;
        for (int token = 0; token < multipliers.Length; token++)
        {
            float m = multipliers[token];
            Span<float> vector = z.Slice(token * hidden, hidden);
            for (int h = 0; h < hidden; h++) vector[h] *= m;
        }
    }

    private static float Mean(ReadOnlySpan<float> z)
    {
        double sum = 0;
        foreach (float v in z) sum += v;
        return (float)(sum / z.Length);
    }
}
