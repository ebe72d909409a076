using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDPMScheduler</c> (Ho et al. 2020): ancestral sampling of the posterior q(x_{t'} | x_t, x̂₀) between
/// consecutive inference timesteps (diffusers ≥ 0.14 semantics: t' is the previous timestep of the schedule, not t − 1),
/// with fixed variances. Stochastic; slow (hundreds of steps for good results).
/// </summary>
public sealed class DdpmScheduler : SchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "DDPMScheduler", order: 1, stochastic: true,
        "The original ancestral sampler: stochastic and slow (needs hundreds of steps); mostly for reference and training.",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule(allowSigmoid: true))
            .Add(SchedulerOption.Choice("variance_type", "fixed_small",
                "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"))
            .Add(CommonOptions.ClipSample(true))
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon))
            .Add(CommonOptions.Thresholding())
            .Add(SchedulerOption.Number("clip_sample_range", 1.0))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Leading))
            .Add(CommonOptions.StepsOffset(0))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new DdpmScheduler(options),
        new SchedulerAlias("DDPM"));

    private readonly NoiseSchedule _schedule;
    private readonly string _varianceType;
    private readonly bool _clip;
    private readonly float _clipRange;
    private readonly string _prediction;
    private readonly string _spacing;
    private readonly int _stepsOffset;
    private readonly DynamicThresholding? _thresholding;
    private float[]? _x0;

    public DdpmScheduler(SchedulerOptions options) : base(options)
    {
        _schedule = NoiseSchedule.FromOptions(options);
        _varianceType = options.GetString("variance_type");
        if (_varianceType is "learned" or "learned_range")
            throw new NotSupportedException(
                $"DDPM variance_type '{_varianceType}' needs a model that also predicts the variance (twice the latent channels); " +
                "use \"fixed_small\", \"fixed_small_log\", \"fixed_large\" or \"fixed_large_log\".");
        _clip = options.GetBool("clip_sample");
        _clipRange = (float)options.GetDouble("clip_sample_range");
        _prediction = options.GetString("prediction_type");
        _spacing = options.GetString("timestep_spacing");
        _stepsOffset = options.GetInt("steps_offset");
        _thresholding = DynamicThresholding.FromOptions(options);
    }

    public override string Name => "DDPMScheduler";
    public override float InitNoiseSigma => 1f;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        TimestepSpacing.ValidateSteps(inferenceSteps, _schedule.TrainTimesteps);
        SetTimestepValues(TimestepSpacing.IntegerTimesteps(_spacing, _schedule.TrainTimesteps, inferenceSteps, _stepsOffset));
    }

    public override void ScaleModelInput(Span<float> sample, double timestep) => EnsureTimestepsSet();

    /// <summary>diffusers' <c>previous_timestep</c>: the next entry of the schedule, −1 after the last.</summary>
    private long PreviousTimestep(double timestep)
    {
        var ts = TimestepSpan;
        for (int i = 0; i < ts.Length; i++)
            if (ts[i] == timestep) return i == ts.Length - 1 ? -1 : (long)ts[i + 1];
        throw new ArgumentException($"{Name}: timestep {timestep} is not in the schedule set by SetTimesteps.", nameof(timestep));
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        EnsureTimestepsSet();
        CheckShapes(modelOutput, sample, shape);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = PreviousTimestep(timestep);

        float alphaProdT = _schedule.AlphasCumprod[t];
        float alphaProdTPrev = prevT >= 0 ? _schedule.AlphasCumprod[prevT] : 1f;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        float currentAlphaT = alphaProdT / alphaProdTPrev;
        float currentBetaT = 1f - currentAlphaT;
        float sqrtAlpha = MathF.Sqrt(alphaProdT), sqrtBeta = MathF.Sqrt(betaProdT);

        var x0 = Rent(ref _x0, n);
        switch (_prediction)
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
                throw new InvalidOperationException($"{Name}: prediction_type '{_prediction}' is not supported.");
        }
        if (_thresholding is not null) _thresholding.Apply(x0, shape);
        else if (_clip) for (int i = 0; i < n; i++) x0[i] = Math.Clamp(x0[i], -_clipRange, _clipRange);

        // Posterior mean coefficients, formula (7) of the DDPM paper (float32).
        float x0Coeff = MathF.Sqrt(alphaProdTPrev) * currentBetaT / betaProdT;
        float sampleCoeff = MathF.Sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
        for (int i = 0; i < n; i++) sample[i] = x0Coeff * x0[i] + sampleCoeff * sample[i];

        if (t > 0)
        {
            var noise = DrawNoise(generators, shape);
            float std = Variance(alphaProdT, alphaProdTPrev);
            for (int i = 0; i < n; i++) sample[i] = sample[i] + std * noise[i];
        }
    }

    /// <summary>The factor multiplying the noise: sqrt(variance) for the fixed types, exp(½ log variance) for fixed_small_log.</summary>
    private float Variance(float alphaProdT, float alphaProdTPrev)
    {
        float currentBetaT = 1f - alphaProdT / alphaProdTPrev;
        float variance = (1f - alphaProdTPrev) / (1f - alphaProdT) * currentBetaT;
        variance = Math.Max(variance, 1e-20f);
        return _varianceType switch
        {
            "fixed_small" => MathF.Sqrt(variance),
            // diffusers multiplies the noise by exp(0.5·log v) directly (no square root afterwards).
            "fixed_small_log" => TorchMath.Exp(0.5f * TorchMath.Log(variance)),
            "fixed_large" => MathF.Sqrt(currentBetaT),
            // diffusers returns log β here and then takes its square root (a known quirk, reproduced).
            "fixed_large_log" => MathF.Sqrt(TorchMath.Log(currentBetaT)),
            _ => throw new InvalidOperationException(_varianceType),
        };
    }
}
