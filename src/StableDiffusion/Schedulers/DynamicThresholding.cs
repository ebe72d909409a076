namespace StableDiffusion.Schedulers;

/// <summary>
/// Imagen's dynamic thresholding of a predicted x0 (diffusers' <c>_threshold_sample</c>), per image:
/// s = clamp(quantile(|x0|, ratio), 1, max); x0 = clamp(x0, −s, s) / s. Float32 like torch.quantile (linear).
/// </summary>
internal sealed class DynamicThresholding
{
    private readonly float _ratio;
    private readonly float _maxValue;
    private float[] _sorted = [];

    public DynamicThresholding(double ratio, double maxValue)
    {
        if (!(ratio >= 0 && ratio <= 1))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "dynamic_thresholding_ratio must lie in [0, 1].");
        _ratio = (float)ratio;
        _maxValue = (float)maxValue;
    }

    /// <summary>Thresholds every image of <paramref name="x0"/> in place.</summary>
    public void Apply(Span<float> x0, LatentShape shape)
    {
        int n = shape.ImageLength;
        if (_sorted.Length != n) _sorted = new float[n];
        for (int b = 0; b < shape.Batch; b++)
        {
            var image = x0.Slice(b * n, n);
            for (int i = 0; i < n; i++) _sorted[i] = MathF.Abs(image[i]);
            Array.Sort(_sorted);
            float rank = _ratio * (n - 1);
            int below = (int)rank;
            int above = (int)MathF.Ceiling(rank);
            float weight = rank - below;
            float lo = _sorted[below], hi = _sorted[above];
            // torch.lerp's two-sided formula.
            float s = weight < 0.5f ? lo + weight * (hi - lo) : hi - (hi - lo) * (1f - weight);
            s = MathF.Min(MathF.Max(s, 1f), _maxValue);
            for (int i = 0; i < n; i++)
                image[i] = Math.Clamp(image[i], -s, s) / s;
        }
    }
}
