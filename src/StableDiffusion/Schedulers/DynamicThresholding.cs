namespace StableDiffusion.Schedulers;

/// <summary>
/// Imagen's dynamic thresholding (diffusers' <c>_threshold_sample</c>): per image, s = clamp(quantile(|x̂₀|, ratio), 1,
/// sample_max_value); x̂₀ ← clamp(x̂₀, −s, s) / s. The quantile is torch's linear interpolation with the rank computed
/// in float32; both clamps are torch's (<see cref="TorchMath.Clamp"/>), so a sample_max_value below 1 gives
/// s = sample_max_value.
/// </summary>
public sealed class DynamicThresholding
{
    private readonly float _ratio;
    private readonly float _maxValue;
    private float[]? _sorted;

    public DynamicThresholding(double ratio, double sampleMaxValue)
    {
        if (ratio is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "dynamic_thresholding_ratio must be in (0, 1].");
        _ratio = (float)ratio;
        _maxValue = (float)sampleMaxValue;
    }

    /// <summary>Reads <c>thresholding</c>, <c>dynamic_thresholding_ratio</c>, <c>sample_max_value</c>; null when off.</summary>
    public static DynamicThresholding? FromOptions(SchedulerOptions options) =>
        options.IsDeclared("thresholding") && options.GetBool("thresholding")
            ? new DynamicThresholding(options.GetDouble("dynamic_thresholding_ratio"), options.GetDouble("sample_max_value"))
            : null;

    /// <summary>Thresholds <paramref name="x0"/> in place, image by image.</summary>
    public void Apply(Span<float> x0, LatentShape shape)
    {
        int n = shape.ImageLength;
        var sorted = SchedulerBase.Rent(ref _sorted, n);
        for (int b = 0; b < shape.Batch; b++)
        {
            var image = x0.Slice(b * n, n);
            for (int i = 0; i < n; i++) sorted[i] = Math.Abs(image[i]);
            Array.Sort(sorted);
            float rank = _ratio * (n - 1);
            int below = (int)rank;
            int above = Math.Min(below + 1, n - 1);
            float weight = rank - below;
            float q = TorchMath.Lerp(sorted[below], sorted[above], weight);
            float s = TorchMath.Clamp(q, 1f, _maxValue);
            for (int i = 0; i < n; i++) image[i] = TorchMath.Clamp(image[i], -s, s) / s;
        }
    }
}
