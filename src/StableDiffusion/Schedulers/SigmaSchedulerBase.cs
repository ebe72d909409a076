using System.Numerics.Tensors;
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
    private float[]? _denoised;

    protected SigmaSchedulerBase(SchedulerOptions options) : base(options)
    {
        NoiseSchedule.KeepFirstSigmaFinite();
        TrainSigmas = NoiseSchedule.TrainSigmas();
        // "original_sample" is diffusers' backward-compatible spelling of "sample".
        PredictionType = options.GetString("prediction_type") is "original_sample" ? CommonOptions.Sample : options.GetString("prediction_type");
        Ramp = SigmaRamp.FromOptions(options, Name);
        // Before set_timesteps diffusers holds the training sigmas, descending, plus a final 0.
        var initial = new float[TrainSigmas.Length + 1];
        for (int i = 0; i < TrainSigmas.Length; i++) initial[i] = TrainSigmas[TrainSigmas.Length - 1 - i];
        SigmaValues = initial;
    }

    /// <summary>
    /// The options every sigma-space class declares, in this order: the noise schedule, <c>prediction_type</c> (epsilon
    /// by default, <paramref name="predictionTypes"/> allowed; all three when none are given), the sigma ramp flags when
    /// the class has them, <c>timestep_spacing</c> ('linspace') and <c>steps_offset</c> (0). Defaults of diffusers 0.35.2.
    /// </summary>
    internal static SchedulerOptionSet BaseOptions(bool sigmaRamp, double betaStart = 0.0001, double betaEnd = 0.02,
                                                   string betaSchedule = NoiseSchedule.Linear, params string[] predictionTypes)
    {
        var options = new SchedulerOptionSet(CommonOptions.NoiseSchedule(betaStart, betaEnd, betaSchedule))
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon, predictionTypes));
        if (sigmaRamp) options.Add(SigmaRamp.Options());
        return options
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace))
            .Add(CommonOptions.StepsOffset(0));
    }

    /// <summary>σ_t for t = 0 … N−1 (float32).</summary>
    protected float[] TrainSigmas { get; }

    /// <summary>np.log of <see cref="TrainSigmas"/> (float32), for <c>_sigma_to_t</c>.</summary>
    protected float[] LogSigmas => _logSigmas ??= SigmaSchedule.LogSigmas(TrainSigmas);

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

    /// <summary>The usual <c>set_timesteps</c>: <see cref="InterpolatedSchedule"/> with a final sigma of 0, float32 timesteps.</summary>
    protected override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas) = InterpolatedSchedule(inferenceSteps);
        SigmaValues = WithFinalSigma(sigmas, 0.0);
        SetTimestepValues(ToFloat32(timesteps));
    }

    /// <summary>
    /// The common first half of <c>set_timesteps</c>: timesteps by <c>timestep_spacing</c> (float32 grid, as 0.35),
    /// sigmas interpolated at them (float64), then the optional ramp with timesteps from <c>_sigma_to_t</c>.
    /// Both arrays are descending and have <paramref name="steps"/> entries (no final sigma yet).
    /// </summary>
    protected (double[] Timesteps, double[] Sigmas) InterpolatedSchedule(int steps, double? sigmaMin = null, double? sigmaMax = null)
    {
        var timesteps = GridTimesteps(steps);
        return WithRamp(timesteps, SigmaSchedule.Interpolate(timesteps, TrainSigmas), steps, sigmaMin, sigmaMax);
    }

    /// <summary>The timesteps of <c>timestep_spacing</c> on the float32 grid, after checking the step count.</summary>
    protected double[] GridTimesteps(int steps)
    {
        TimestepSpacing.ValidateSteps(steps, NoiseSchedule.TrainTimesteps);
        return TimestepSpacing.Float32Timesteps(Spacing, NoiseSchedule.TrainTimesteps, steps, StepsOffset);
    }

    /// <summary>
    /// Applies the sigma ramp, if any: the sigmas re-spaced between σ_min and σ_max (default: the ends of
    /// <paramref name="sigmas"/>) and the timesteps that <c>_sigma_to_t</c> gives for them; else both unchanged.
    /// </summary>
    protected (double[] Timesteps, double[] Sigmas) WithRamp(double[] timesteps, double[] sigmas, int steps,
                                                             double? sigmaMin = null, double? sigmaMax = null)
    {
        if (Ramp == SigmaRampKind.None) return (timesteps, sigmas);
        var ramped = SigmaRamp.Apply(Ramp, sigmas, steps, sigmaMin, sigmaMax);
        return (SigmaRamp.TimestepsFor(ramped, LogSigmas), ramped);
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

    /// <summary><c>add_noise</c>: x₀ + σ·noise with σ by diffusers' index rule (<see cref="SchedulerBase.NoiseSigma"/>).</summary>
    protected sealed override (float Signal, float Noise) NoiseCoefficients(double timestep) => (1f, NoiseSigma(timestep));

    /// <summary>diffusers' <c>scale_model_input</c>: sample / sqrt(σ² + 1), in place, float32, with σ from <see cref="ModelInputSigma"/>.</summary>
    public override void ScaleModelInput(Span<float> sample, double timestep)
    {
        float sigma = ModelInputSigma(CurrentStepIndex(timestep));
        float scale = MathF.Sqrt(sigma * sigma + 1f);
        TensorPrimitives.Divide(sample, scale, sample); // element by element as the loop would: the same bits, vectorized
    }

    /// <summary>The σ the model input is scaled for at step <paramref name="index"/> (the schedule's σ unless the class says otherwise).</summary>
    protected virtual float ModelInputSigma(int index) => SigmaValues[index];

    /// <summary>
    /// x̂₀ from the model output at noise level σ (k-diffusion's denoiser), float32 like diffusers, in a buffer reused
    /// from step to step: epsilon: x − σ·ε; v_prediction: v·(−σ/sqrt(σ²+1)) + x/(σ²+1); sample: the output itself.
    /// </summary>
    protected float[] Denoise(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma)
    {
        var destination = Rent(ref _denoised, sample.Length);
        switch (PredictionType)
        {
            case CommonOptions.Epsilon:
                // sample − σ·ε with the two roundings of the scalar loop (separate multiply and subtract, no FMA).
                TensorPrimitives.Multiply(modelOutput, sigma, destination);
                TensorPrimitives.Subtract(sample, destination, destination);
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
        return destination;
    }
}
