using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDPMScheduler</c> (Ho et al. 2020): ancestral sampling of the posterior q(x_{t'} | x_t, x̂₀) between
/// consecutive inference timesteps (diffusers ≥ 0.14 semantics: t' is the previous timestep of the schedule, not t − 1),
/// with fixed variances. Stochastic; slow (hundreds of steps for good results).
/// </summary>
public sealed class DdpmScheduler : AlphaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "DDPMScheduler", order: 1, stochastic: true,
        "The original ancestral sampler: stochastic and slow (needs hundreds of steps); mostly for reference and training.",
        BaseOptions(allowSigmoid: true)
            .Add(SchedulerOption.Choice("variance_type", "fixed_small",
                "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"))
            .Add(OriginalSamplePredictor.Options(clipSample: true))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new DdpmScheduler(options),
        new SchedulerAlias("DDPM"));

    private readonly string _varianceType;
    private readonly OriginalSamplePredictor _predictor;

    public DdpmScheduler(SchedulerOptions options) : base(options)
    {
        _varianceType = options.GetString("variance_type");
        if (_varianceType is "learned" or "learned_range")
            throw new NotSupportedException(
                $"DDPM variance_type '{_varianceType}' needs a model that also predicts the variance (twice the latent channels); " +
                "use \"fixed_small\", \"fixed_small_log\", \"fixed_large\" or \"fixed_large_log\".");
        _predictor = new OriginalSamplePredictor(options, Name);
    }

    public override string Name => "DDPMScheduler";

    /// <summary>diffusers' <c>previous_timestep</c>: the next entry of the schedule, −1 after the last.</summary>
    private long PreviousTimestep(double timestep)
    {
        var ts = TimestepSpan;
        for (int i = 0; i < ts.Length; i++)
            if (ts[i] == timestep) return i == ts.Length - 1 ? -1 : (long)ts[i + 1];
        throw new ArgumentException($"{Name}: timestep {timestep} is not in the schedule set by SetTimesteps.", nameof(timestep));
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        EnsureTimestepsSet();
        CheckShapes(modelOutput, sample, shape);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = PreviousTimestep(timestep);

        float alphaProdT = AlphaCumprod(t);
        float alphaProdTPrev = AlphaCumprod(prevT);
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        float currentAlphaT = alphaProdT / alphaProdTPrev;
        float currentBetaT = 1f - currentAlphaT;
        var x0 = _predictor.Predict(modelOutput, sample, alphaProdT, shape);

        // Posterior mean coefficients, formula (7) of the DDPM paper (float32).
        float x0Coeff = MathF.Sqrt(alphaProdTPrev) * currentBetaT / betaProdT;
        float sampleCoeff = MathF.Sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
        for (int i = 0; i < n; i++) sample[i] = x0Coeff * x0[i] + sampleCoeff * sample[i];

        if (t > 0)
        {
            var noise = DrawNoise(generators, shape);
            float std = NoiseScale(alphaProdT, alphaProdTPrev);
            for (int i = 0; i < n; i++) sample[i] = sample[i] + std * noise[i];
        }
    }

    /// <summary>The factor multiplying the noise: sqrt(variance) for the fixed types, exp(½ log variance) for fixed_small_log.</summary>
    private float NoiseScale(float alphaProdT, float alphaProdTPrev)
    {
        float currentBetaT = 1f - alphaProdT / alphaProdTPrev;
        float variance = Math.Max(PosteriorVariance(alphaProdT, alphaProdTPrev), 1e-20f);
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
