namespace StableDiffusion.Schedulers;

/// <summary>
/// Base of the k-diffusion style schedulers that work in sigma space (Euler, Euler ancestral, LMS, Heun, KDPM2):
/// they interpolate the float32 training sigmas σ_t = sqrt((1−ᾱ)/ᾱ) at the inference timesteps (optionally re-spaced
/// by a Karras/exponential/beta ramp), scale the model input by 1/sqrt(σ²+1) and start from noise of std
/// <c>init_noise_sigma</c>.
/// </summary>
public abstract class SigmaSchedulerBase : SchedulerBase
{
    private float[]? _logSigmas;

    protected SigmaSchedulerBase(SchedulerOptions options, bool zeroSnrTinyAlpha = false) : base(options)
    {
        Schedule = NoiseSchedule.FromOptions(options);
        if (zeroSnrTinyAlpha && options.IsDeclared("rescale_betas_zero_snr") && options.GetBool("rescale_betas_zero_snr"))
        {
            // diffusers: "close to 0 without being 0 so first sigma is not inf" (fp16's smallest subnormal).
            Schedule.AlphasCumprod[^1] = MathF.Pow(2, -24);
        }
        TrainSigmas = Schedule.TrainSigmas();
        Spacing = options.IsDeclared("timestep_spacing") ? options.GetString("timestep_spacing") : TimestepSpacing.Linspace;
        StepsOffset = options.IsDeclared("steps_offset") ? options.GetInt("steps_offset") : 0;
        // "original_sample" is diffusers' backward-compatible spelling of "sample".
        PredictionType = options.GetString("prediction_type") is "original_sample" ? CommonOptions.Sample : options.GetString("prediction_type");
        Ramp = SigmaRamp.FromOptions(options);
        // Before set_timesteps diffusers holds the training sigmas, descending, plus a final 0.
        var initial = new float[TrainSigmas.Length + 1];
        for (int i = 0; i < TrainSigmas.Length; i++) initial[i] = TrainSigmas[TrainSigmas.Length - 1 - i];
        SigmaValues = initial;
    }

    public NoiseSchedule Schedule { get; }

    /// <summary>σ_t for t = 0 … N−1 (float32).</summary>
    protected float[] TrainSigmas { get; }

    /// <summary>np.log of <see cref="TrainSigmas"/> (float32), for <c>_sigma_to_t</c>.</summary>
    protected float[] LogSigmas => _logSigmas ??= SigmaSchedule.LogSigmas(TrainSigmas);

    protected string Spacing { get; }
    protected int StepsOffset { get; }
    protected string PredictionType { get; }
    protected SigmaRampKind Ramp { get; }

    /// <summary>The scheduler's sigma array (diffusers' <c>self.sigmas</c>), float32.</summary>
    protected float[] SigmaValues { get; set; }

    public override IReadOnlyList<float>? Sigmas => SigmaValues;

    /// <summary>max σ for 'linspace'/'trailing' spacing, sqrt(max σ² + 1) for 'leading' (float32).</summary>
    public override float InitNoiseSigma
    {
        get
        {
            float max = float.NegativeInfinity;
            foreach (float s in SigmaValues) if (s > max || float.IsNaN(s)) max = s;
            if (Spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing) return max;
            return MathF.Sqrt(max * max + 1f);
        }
    }

    /// <summary>
    /// The common first half of <c>set_timesteps</c>: timesteps by <c>timestep_spacing</c> (float32 grid, as 0.35),
    /// sigmas interpolated at them (float64), then the optional ramp with timesteps from <c>_sigma_to_t</c>.
    /// Both arrays are descending and have <paramref name="steps"/> entries (no final sigma yet).
    /// </summary>
    protected (double[] Timesteps, double[] Sigmas) InterpolatedSchedule(int steps, double? sigmaMin = null, double? sigmaMax = null)
    {
        TimestepSpacing.ValidateSteps(steps, Schedule.TrainTimesteps);
        var timesteps = TimestepSpacing.Float32Timesteps(Spacing, Schedule.TrainTimesteps, steps, StepsOffset);
        var sigmas = SigmaSchedule.Interpolate(timesteps, TrainSigmas);
        if (Ramp != SigmaRampKind.None)
        {
            sigmas = SigmaRamp.Apply(Ramp, sigmas, steps, sigmaMin, sigmaMax);
            timesteps = SigmaRamp.TimestepsFor(sigmas, LogSigmas);
        }
        return (timesteps, sigmas);
    }

    /// <summary>Appends the final sigma and casts to float32 (<c>np.concatenate([sigmas, [last]]).astype(np.float32)</c>).</summary>
    protected static float[] WithFinalSigma(double[] sigmas, double last)
    {
        var result = new float[sigmas.Length + 1];
        for (int i = 0; i < sigmas.Length; i++) result[i] = (float)sigmas[i];
        result[^1] = (float)last;
        return result;
    }

    /// <summary>Casts timesteps to float32 values (diffusers' <c>timesteps.astype(np.float32)</c>).</summary>
    protected static double[] ToFloat32(double[] timesteps)
    {
        var result = new double[timesteps.Length];
        for (int i = 0; i < result.Length; i++) result[i] = (float)timesteps[i];
        return result;
    }

    /// <summary>sample / sqrt(σ² + 1), in place, float32.</summary>
    protected static void DivideBySqrtSigmaSquaredPlusOne(Span<float> sample, float sigma)
    {
        float scale = MathF.Sqrt(sigma * sigma + 1f);
        for (int i = 0; i < sample.Length; i++) sample[i] /= scale;
    }

    /// <summary>
    /// x̂₀ from the model output at noise level σ (k-diffusion's denoiser), float32 like diffusers:
    /// epsilon: x − σ·ε; v_prediction: v·(−σ/sqrt(σ²+1)) + x/(σ²+1); sample: the output itself.
    /// </summary>
    protected void PredictOriginal(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, Span<float> destination)
    {
        switch (PredictionType)
        {
            case CommonOptions.Epsilon:
                for (int i = 0; i < destination.Length; i++) destination[i] = sample[i] - sigma * modelOutput[i];
                break;
            case CommonOptions.VPrediction:
                float sq = sigma * sigma + 1f;
                float cOut = -sigma / MathF.Sqrt(sq);
                for (int i = 0; i < destination.Length; i++) destination[i] = modelOutput[i] * cOut + sample[i] / sq;
                break;
            case CommonOptions.Sample:
                modelOutput.CopyTo(destination);
                break;
            default:
                throw new InvalidOperationException($"{Name}: prediction_type '{PredictionType}' is not supported.");
        }
    }
}
