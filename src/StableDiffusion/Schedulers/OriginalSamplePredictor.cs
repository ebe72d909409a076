namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>pred_original_sample</c> of DDPM, DDIM and LCM: x̂₀ from the model output at ᾱ_t (epsilon:
/// (x − sqrt(1−ᾱ)·ε)/sqrt(ᾱ); sample: the output itself; v_prediction: sqrt(ᾱ)·x − sqrt(1−ᾱ)·v), then dynamic
/// thresholding when on, else clipping to ±<c>clip_sample_range</c> when <c>clip_sample</c>; float32 throughout.
/// </summary>
internal sealed class OriginalSamplePredictor
{
    private readonly string _schedulerName;
    private readonly bool _clip;
    private readonly float _clipRange;
    private readonly DynamicThresholding? _thresholding;
    private float[]? _x0;

    public OriginalSamplePredictor(SchedulerOptions options, string schedulerName)
    {
        _schedulerName = schedulerName;
        PredictionType = options.GetString("prediction_type");
        _clip = options.GetBool("clip_sample");
        _clipRange = (float)options.GetDouble("clip_sample_range");
        _thresholding = DynamicThresholding.FromOptions(options);
    }

    /// <summary>The keys it reads besides <c>prediction_type</c>: <c>clip_sample</c>, <c>clip_sample_range</c> and thresholding.</summary>
    public static IEnumerable<SchedulerOption> Options(bool clipSample)
    {
        yield return CommonOptions.ClipSample(clipSample);
        yield return SchedulerOption.Number("clip_sample_range", 1.0);
        foreach (var option in CommonOptions.Thresholding()) yield return option;
    }

    public string PredictionType { get; }

    /// <summary>x̂₀ (thresholded or clipped) in a buffer reused from step to step.</summary>
    public float[] Predict(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float alphaProdT, LatentShape shape)
    {
        int n = sample.Length;
        var x0 = SchedulerBase.Rent(ref _x0, n);
        float sqrtAlpha = MathF.Sqrt(alphaProdT), sqrtBeta = MathF.Sqrt(1f - alphaProdT);
        switch (PredictionType)
        {
            case CommonOptions.Epsilon:
                for (int i = 0; i < n; i++) x0[i] = (sample[i] - sqrtBeta * modelOutput[i]) / sqrtAlpha;
                break;
            case CommonOptions.Sample:
                modelOutput.CopyTo(x0);
                break;
            case CommonOptions.VPrediction:
                for (int i = 0; i < n; i++) x0[i] = sqrtAlpha * sample[i] - sqrtBeta * modelOutput[i];
                break;
            default:
                throw new InvalidOperationException($"{_schedulerName}: prediction_type '{PredictionType}' is not supported.");
        }
        if (_thresholding is not null) _thresholding.Apply(x0, shape);
        else if (_clip) for (int i = 0; i < n; i++) x0[i] = TorchMath.Clamp(x0[i], -_clipRange, _clipRange);
        return x0;
    }
}
