using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>LCMScheduler</c> (Latent Consistency Models, Luo et al. 2023): each step maps x_t straight to a
/// consistency-model estimate of x₀ (with the boundary-condition scalings c_skip, c_out) and re-noises it to the next
/// timestep with fresh noise. For LCM-distilled models / LCM-LoRA, 2–8 steps, guidance ≈ 1–2. Stochastic.
/// </summary>
public sealed class LcmScheduler : AlphaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "LCMScheduler", order: 1, stochastic: true,
        "Only for LCM-distilled models or LCM-LoRA: 2–8 steps at guidance 1–2; wrong for ordinary checkpoints.",
        BaseOptions(0.00085, 0.012, NoiseSchedule.ScaledLinear)
            .Add(SchedulerOption.Integer("original_inference_steps", 50))
            .Add(OriginalSamplePredictor.Options(clipSample: false))
            .Add(CommonOptions.SetAlphaToOne(true))
            .Add(SchedulerOption.Number("timestep_scaling", 10.0))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new LcmScheduler(options),
        new SchedulerAlias("LCM"));

    private const float SigmaData = 0.5f;

    private readonly int _originalSteps;
    private readonly double _timestepScaling;
    private readonly OriginalSamplePredictor _predictor;

    public LcmScheduler(SchedulerOptions options) : base(options)
    {
        _originalSteps = options.GetInt("original_inference_steps");
        _timestepScaling = options.GetDouble("timestep_scaling");
        _predictor = new OriginalSamplePredictor(options, Name);
    }

    public override string Name => "LCMScheduler";

    /// <summary>img2img strength (diffusers' <c>set_timesteps(strength=…)</c>): the share of the distillation schedule used.</summary>
    public double Strength { get; set; } = 1.0;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        int trainSteps = NoiseSchedule.TrainTimesteps;
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

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = index + 1 < Timesteps.Count ? (long)Timesteps[index + 1] : t;

        float alphaProdT = AlphaCumprod(t);
        float alphaProdTPrev = AlphaCumprod(prevT);
        float betaProdTPrev = 1f - alphaProdTPrev;

        // Boundary-condition scalings (float32: the int64 timestep tensor times a Python float gives float32).
        float scaled = (float)t * (float)_timestepScaling;
        float cSkip = SigmaData * SigmaData / (scaled * scaled + SigmaData * SigmaData);
        float cOut = scaled / MathF.Sqrt(scaled * scaled + SigmaData * SigmaData);

        var x0 = _predictor.Predict(modelOutput, sample, alphaProdT, shape);

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
