using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>LCMScheduler</c> (Latent Consistency Models, Luo et al. 2023): each step maps x_t straight to a
/// consistency-model estimate of x₀ (with the boundary-condition scalings c_skip, c_out) and re-noises it to the next
/// timestep with fresh noise. For LCM-distilled models / LCM-LoRA, 2–8 steps, guidance ≈ 1–2. Stochastic.
/// </summary>
public sealed class LcmScheduler : SchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "LCMScheduler", order: 1, stochastic: true,
        "Only for LCM-distilled models or LCM-LoRA: 2–8 steps at guidance 1–2; wrong for ordinary checkpoints.",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule(0.00085, 0.012, NoiseSchedule.ScaledLinear))
            .Add(SchedulerOption.Integer("original_inference_steps", 50))
            .Add(CommonOptions.ClipSample(false))
            .Add(SchedulerOption.Number("clip_sample_range", 1.0))
            .Add(CommonOptions.SetAlphaToOne(true))
            .Add(CommonOptions.StepsOffset(0))
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon))
            .Add(CommonOptions.Thresholding())
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Leading))
            .Add(SchedulerOption.Number("timestep_scaling", 10.0))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new LcmScheduler(options),
        new SchedulerAlias("LCM"));

    private const float SigmaData = 0.5f;

    private readonly NoiseSchedule _schedule;
    private readonly float _finalAlphaCumprod;
    private readonly int _originalSteps;
    private readonly bool _clip;
    private readonly float _clipRange;
    private readonly string _prediction;
    private readonly double _timestepScaling;
    private readonly DynamicThresholding? _thresholding;
    private float[]? _x0;

    public LcmScheduler(SchedulerOptions options) : base(options)
    {
        _schedule = NoiseSchedule.FromOptions(options);
        _finalAlphaCumprod = options.GetBool("set_alpha_to_one") ? 1f : _schedule.AlphasCumprod[0];
        _originalSteps = options.GetInt("original_inference_steps");
        _clip = options.GetBool("clip_sample");
        _clipRange = (float)options.GetDouble("clip_sample_range");
        _prediction = options.GetString("prediction_type");
        _timestepScaling = options.GetDouble("timestep_scaling");
        _thresholding = DynamicThresholding.FromOptions(options);
    }

    public override string Name => "LCMScheduler";
    public override float InitNoiseSigma => 1f;

    /// <summary>img2img strength (diffusers' <c>set_timesteps(strength=…)</c>): the share of the distillation schedule used.</summary>
    public double Strength { get; set; } = 1.0;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        int trainSteps = _schedule.TrainTimesteps;
        if (_originalSteps > trainSteps)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps),
                $"original_inference_steps ({_originalSteps}) cannot exceed num_train_timesteps ({trainSteps}).");
        TimestepSpacing.ValidateSteps(inferenceSteps, trainSteps);
        // The distillation schedule: k·i − 1 for i = 1 … original_steps·strength, with skipping step k = N // original_steps.
        int k = trainSteps / _originalSteps;
        int count = (int)(_originalSteps * Strength);
        var origin = new long[count];
        for (int i = 0; i < count; i++) origin[i] = (long)(i + 1) * k - 1;
        int skipping = count / inferenceSteps;
        if (skipping < 1)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"LCM: {inferenceSteps} steps need at least as many distillation timesteps ({count}); lower the step count or raise strength.");
        if (inferenceSteps > _originalSteps)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"LCM: inference steps cannot exceed original_inference_steps ({_originalSteps}).");
        Array.Reverse(origin);
        // Evenly spaced indices: floor(linspace(0, len, n, endpoint=False)).
        var timesteps = new double[inferenceSteps];
        double step = (double)count / inferenceSteps;
        for (int i = 0; i < inferenceSteps; i++) timesteps[i] = origin[(long)Math.Floor(i * step)];
        SetTimestepValues(timesteps);
    }

    public override void ScaleModelInput(Span<float> sample, double timestep) => EnsureTimestepsSet();

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = index + 1 < Timesteps.Count ? (long)Timesteps[index + 1] : t;

        float alphaProdT = _schedule.AlphasCumprod[t];
        float alphaProdTPrev = prevT >= 0 ? _schedule.AlphasCumprod[prevT] : _finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;

        // Boundary-condition scalings (float32: the int64 timestep tensor times a Python float gives float32).
        float scaled = (float)t * (float)_timestepScaling;
        float cSkip = SigmaData * SigmaData / (scaled * scaled + SigmaData * SigmaData);
        float cOut = scaled / MathF.Sqrt(scaled * scaled + SigmaData * SigmaData);

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

        // denoised = c_out·x̂₀ + c_skip·x_t; noise is added on every step but the last.
        bool last = index == InferenceSteps!.Value - 1;
        if (!last)
        {
            var noise = DrawNoise(generators, shape);
            float a = MathF.Sqrt(alphaProdTPrev), b = MathF.Sqrt(betaProdTPrev);
            for (int i = 0; i < n; i++)
            {
                float denoised = cOut * x0[i] + cSkip * sample[i];
                sample[i] = a * denoised + b * noise[i];
            }
        }
        else
        {
            for (int i = 0; i < n; i++) sample[i] = cOut * x0[i] + cSkip * sample[i];
        }
        AdvanceStepIndex();
    }
}
