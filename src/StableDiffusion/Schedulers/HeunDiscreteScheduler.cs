using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>HeunDiscreteScheduler</c> (Karras et al. 2022, Algorithm 1 with γ = 0): each step is an Euler
/// predictor and a trapezoidal corrector, so the UNet runs twice per step (2N−1 evaluations). Deterministic.
/// </summary>
public sealed class HeunDiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "HeunDiscreteScheduler", order: 2, stochastic: false,
        "Second-order and accurate but two UNet calls per step; worth it when quality per step matters more than time.",
        BaseOptions(sigmaRamp: true, 0.00085, 0.012, NoiseSchedule.Linear)
            .Add(CommonOptions.ClipSample(false))
            .Add(SchedulerOption.Number("clip_sample_range", 1.0)),
        options => new HeunDiscreteScheduler(options),
        new SchedulerAlias("Heun"), new SchedulerAlias("Heun Karras", ("use_karras_sigmas", true)));

    private readonly bool _clip;
    private readonly float _clipRange;
    private float[]? _prevDerivative, _savedSample;
    private bool _firstOrder = true;
    private float _dt;

    public HeunDiscreteScheduler(SchedulerOptions options) : base(options)
    {
        _clip = options.GetBool("clip_sample");
        _clipRange = (float)options.GetDouble("clip_sample_range");
    }

    public override string Name => "HeunDiscreteScheduler";
    public override int Order => 2;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas) = InterpolatedSchedule(inferenceSteps);
        var s = WithFinalSigma(sigmas, 0.0);
        // sigmas: [σ0, σ1, σ1, …, σn-1, σn-1, 0]; timesteps: [t0, t1, t1, …, tn-1, tn-1].
        var interleaved = new float[2 * s.Length - 2];
        interleaved[0] = s[0];
        for (int i = 1; i < s.Length - 1; i++) { interleaved[2 * i - 1] = s[i]; interleaved[2 * i] = s[i]; }
        interleaved[^1] = s[^1];
        SigmaValues = interleaved;
        var t32 = ToFloat32(timesteps);
        var ts = new double[2 * t32.Length - 1];
        ts[0] = t32[0];
        for (int i = 1; i < t32.Length; i++) { ts[2 * i - 1] = t32[i]; ts[2 * i] = t32[i]; }
        SetTimestepValues(ts);
        _firstOrder = true;
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        float sigma, sigmaNext;
        if (_firstOrder) { sigma = SigmaValues[index]; sigmaNext = SigmaValues[index + 1]; }
        else { sigma = SigmaValues[index - 1]; sigmaNext = SigmaValues[index]; }
        float sigmaHat = sigma; // γ = 0
        float sigmaInput = _firstOrder ? sigmaHat : sigmaNext;

        var denoised = Denoise(modelOutput, sample, sigmaInput);
        if (_clip)
            for (int i = 0; i < n; i++) denoised[i] = TorchMath.Clamp(denoised[i], -_clipRange, _clipRange);

        if (_firstOrder)
        {
            var prevDerivative = Rent(ref _prevDerivative, n);
            var saved = Rent(ref _savedSample, n);
            _dt = sigmaNext - sigmaHat;
            for (int i = 0; i < n; i++)
            {
                float derivative = (sample[i] - denoised[i]) / sigmaHat;
                prevDerivative[i] = derivative;
                saved[i] = sample[i];
                sample[i] = sample[i] + derivative * _dt;
            }
            _firstOrder = false;
        }
        else
        {
            var prevDerivative = _prevDerivative!;
            var saved = _savedSample!;
            for (int i = 0; i < n; i++)
            {
                float derivative = (sample[i] - denoised[i]) / sigmaNext;
                derivative = (prevDerivative[i] + derivative) / 2f;
                sample[i] = saved[i] + derivative * _dt;
            }
            _firstOrder = true;
        }
        AdvanceStepIndex();
    }
}
