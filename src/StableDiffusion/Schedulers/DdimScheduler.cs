using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDIMScheduler</c> (Song et al. 2020): the non-Markovian DDIM update with optional noise (η),
/// clipping or dynamic thresholding of x̂₀, and epsilon / sample / v-prediction. Deterministic when η = 0.
/// </summary>
public sealed class DdimScheduler : SchedulerBase, IEtaScheduler
{
    public static readonly SchedulerRegistration Registration = new(
        "DDIMScheduler", order: 1, stochastic: false,
        "Deterministic and invertible; the standard for v-prediction / zero-SNR models and for img2img inversion. 25–50 steps.",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule())
            .Add(CommonOptions.ClipSample(true))
            .Add(CommonOptions.SetAlphaToOne(true))
            .Add(CommonOptions.StepsOffset(0))
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon))
            .Add(CommonOptions.Thresholding())
            .Add(SchedulerOption.Number("clip_sample_range", 1.0))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Leading))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new DdimScheduler(options),
        new SchedulerAlias("DDIM"));

    private readonly NoiseSchedule _schedule;
    private readonly float _finalAlphaCumprod;
    private readonly bool _clip;
    private readonly float _clipRange;
    private readonly string _prediction;
    private readonly string _spacing;
    private readonly int _stepsOffset;
    private readonly DynamicThresholding? _thresholding;
    private float[]? _x0, _eps;

    public DdimScheduler(SchedulerOptions options) : base(options)
    {
        _schedule = NoiseSchedule.FromOptions(options);
        _finalAlphaCumprod = options.GetBool("set_alpha_to_one") ? 1f : _schedule.AlphasCumprod[0];
        _clip = options.GetBool("clip_sample");
        _clipRange = (float)options.GetDouble("clip_sample_range");
        _prediction = options.GetString("prediction_type");
        _spacing = options.GetString("timestep_spacing");
        _stepsOffset = options.GetInt("steps_offset");
        _thresholding = DynamicThresholding.FromOptions(options);
    }

    public override string Name => "DDIMScheduler";
    public override float InitNoiseSigma => 1f;
    public NoiseSchedule NoiseSchedule => _schedule;

    /// <summary>diffusers' <c>eta</c> (η) argument of <c>step()</c>: the weight of the stochastic noise (0 = DDIM, 1 ≈ DDPM).</summary>
    public double Eta { get; set; }

    /// <summary>diffusers' <c>use_clipped_model_output</c> argument of <c>step()</c>.</summary>
    public bool UseClippedModelOutput { get; set; }

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        TimestepSpacing.ValidateSteps(inferenceSteps, _schedule.TrainTimesteps);
        SetTimestepValues(TimestepSpacing.IntegerTimesteps(_spacing, _schedule.TrainTimesteps, inferenceSteps, _stepsOffset));
    }

    public override void ScaleModelInput(Span<float> sample, double timestep) => EnsureTimestepsSet();

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        EnsureTimestepsSet();
        CheckShapes(modelOutput, sample, shape);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = t - _schedule.TrainTimesteps / InferenceSteps!.Value;
        float alphaProdT = _schedule.AlphasCumprod[t];
        float alphaProdTPrev = prevT >= 0 ? _schedule.AlphasCumprod[prevT] : _finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float sqrtAlpha = MathF.Sqrt(alphaProdT), sqrtBeta = MathF.Sqrt(betaProdT);

        var x0 = Rent(ref _x0, n);
        var eps = Rent(ref _eps, n);
        switch (_prediction)
        {
            case CommonOptions.Epsilon:
                for (int i = 0; i < n; i++) { x0[i] = (sample[i] - sqrtBeta * modelOutput[i]) / sqrtAlpha; eps[i] = modelOutput[i]; }
                break;
            case CommonOptions.Sample:
                for (int i = 0; i < n; i++) { x0[i] = modelOutput[i]; eps[i] = (sample[i] - sqrtAlpha * x0[i]) / sqrtBeta; }
                break;
            case CommonOptions.VPrediction:
                for (int i = 0; i < n; i++)
                {
                    x0[i] = sqrtAlpha * sample[i] - sqrtBeta * modelOutput[i];
                    eps[i] = sqrtAlpha * modelOutput[i] + sqrtBeta * sample[i];
                }
                break;
            default:
                throw new InvalidOperationException($"{Name}: prediction_type '{_prediction}' is not supported.");
        }

        if (_thresholding is not null) _thresholding.Apply(x0, shape);
        else if (_clip) for (int i = 0; i < n; i++) x0[i] = Math.Clamp(x0[i], -_clipRange, _clipRange);

        // σ_t = η·sqrt((1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)), all float32 0-dim tensor arithmetic in diffusers.
        float betaProdTPrev = 1f - alphaProdTPrev;
        float variance = betaProdTPrev / betaProdT * (1f - alphaProdT / alphaProdTPrev);
        float stdDevT = (float)Eta * MathF.Sqrt(variance);

        if (UseClippedModelOutput)
            for (int i = 0; i < n; i++) eps[i] = (sample[i] - sqrtAlpha * x0[i]) / sqrtBeta;

        float directionCoeff = MathF.Sqrt(1f - alphaProdTPrev - stdDevT * stdDevT);
        float sqrtAlphaPrev = MathF.Sqrt(alphaProdTPrev);
        for (int i = 0; i < n; i++) sample[i] = sqrtAlphaPrev * x0[i] + directionCoeff * eps[i];

        if (Eta > 0)
        {
            var noise = DrawNoise(generators, shape);
            for (int i = 0; i < n; i++) sample[i] = sample[i] + stdDevT * noise[i];
        }
    }
}
