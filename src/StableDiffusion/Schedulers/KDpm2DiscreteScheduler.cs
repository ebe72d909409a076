using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>KDPM2DiscreteScheduler</c> (k-diffusion's <c>sample_dpm_2</c>): a midpoint method in log-sigma space;
/// each step evaluates the model at σ and at the geometric mean of σ and σ_next (2N−1 UNet calls). Deterministic.
/// </summary>
public sealed class KDpm2DiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "KDPM2DiscreteScheduler", order: 2, stochastic: false,
        "DPM2: second-order, two UNet calls per step; accurate at moderate step counts (Karras variant often preferred).",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule(0.00085, 0.012, NoiseSchedule.Linear))
            .Add(SigmaRamp.Options())
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon, CommonOptions.Epsilon, CommonOptions.VPrediction))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace))
            .Add(CommonOptions.StepsOffset(0)),
        options => new KDpm2DiscreteScheduler(options),
        new SchedulerAlias("DPM2"), new SchedulerAlias("DPM2 Karras", ("use_karras_sigmas", true)), new SchedulerAlias("k_dpm_2"));

    private float[] _sigmasInterpol = [];
    private float[]? _denoised, _savedSample;
    private bool _firstOrder = true;

    public KDpm2DiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "KDPM2DiscreteScheduler";
    public override int Order => 2;

    /// <summary>The interpolated (midpoint) sigmas, laid out like <see cref="SigmaSchedulerBase.Sigmas"/>.</summary>
    public IReadOnlyList<float> SigmasInterpol => _sigmasInterpol;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas64) = InterpolatedSchedule(inferenceSteps);
        if (Ramp != SigmaRampKind.None)
            for (int i = 0; i < timesteps.Length; i++) timesteps[i] = NumpyOps.Round(timesteps[i]);
        var sigmas = WithFinalSigma(sigmas64, 0.0);
        int m = sigmas.Length; // n + 1

        // σ_interpol[i] = exp(lerp(log σ_i, log σ_{i−1}, 0.5)): the geometric mean with the previous sigma (roll(1)).
        var interpol = new float[m];
        for (int i = 0; i < m; i++)
        {
            float a = TorchMath.Log(sigmas[i]), b = TorchMath.Log(sigmas[(i - 1 + m) % m]);
            interpol[i] = TorchMath.Exp(TorchMath.Lerp(a, b, 0.5f));
        }

        SigmaValues = RepeatInterleave(sigmas);
        _sigmasInterpol = RepeatInterleave(interpol);

        var t32 = ToFloat32(timesteps);
        // Timesteps: [t0, ti1, t1, ti2, t2, …, ti_{n−1}, t_{n−1}] with ti from the interpolated sigmas.
        var ts = new double[2 * t32.Length - 1];
        ts[0] = t32[0];
        for (int i = 1; i < t32.Length; i++)
        {
            ts[2 * i - 1] = InterpolatedTimestep(SigmaSchedule.SigmaToT(interpol[i], LogSigmas));
            ts[2 * i] = t32[i];
        }
        SetTimestepValues(ts);
        _firstOrder = true;
    }

    /// <summary>[x0, x1, x1, …, x_last, x_last, x_last]: diffusers' cat([x[:1], x[1:].repeat_interleave(2), x[-1:]]).</summary>
    internal static float[] RepeatInterleave(float[] x)
    {
        var result = new float[2 * x.Length];
        result[0] = x[0];
        for (int i = 1; i < x.Length; i++) { result[2 * i - 1] = x[i]; result[2 * i] = x[i]; }
        result[^1] = x[^1];
        return result;
    }

    /// <summary>
    /// The interpolated timesteps take the dtype of the main ones: float32 normally, but float64 with a sigma ramp
    /// (diffusers rounds the ramp's timesteps with numpy, leaving a float64 tensor).
    /// </summary>
    private double InterpolatedTimestep(double t) => Ramp == SigmaRampKind.None ? (float)t : t;

    public override void ScaleModelInput(Span<float> sample, double timestep)
    {
        int index = CurrentStepIndex(timestep);
        float sigma = _firstOrder ? SigmaValues[index] : _sigmasInterpol[index];
        DivideBySqrtSigmaSquaredPlusOne(sample, sigma);
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        float sigma, sigmaInterpol, sigmaNext;
        if (_firstOrder)
        {
            sigma = SigmaValues[index];
            sigmaInterpol = _sigmasInterpol[index + 1];
            sigmaNext = SigmaValues[index + 1];
        }
        else
        {
            sigma = SigmaValues[index - 1];
            sigmaInterpol = _sigmasInterpol[index];
            sigmaNext = SigmaValues[index];
        }
        float sigmaHat = sigma; // γ = 0
        float sigmaInput = _firstOrder ? sigmaHat : sigmaInterpol;
        var denoised = Rent(ref _denoised, n);
        PredictOriginal(modelOutput, sample, sigmaInput, denoised);

        if (_firstOrder)
        {
            float dt = sigmaInterpol - sigmaHat;
            var saved = Rent(ref _savedSample, n);
            for (int i = 0; i < n; i++)
            {
                float derivative = (sample[i] - denoised[i]) / sigmaHat;
                saved[i] = sample[i];
                sample[i] = sample[i] + derivative * dt;
            }
            _firstOrder = false;
        }
        else
        {
            float dt = sigmaNext - sigmaHat;
            var saved = _savedSample!;
            for (int i = 0; i < n; i++)
            {
                float derivative = (sample[i] - denoised[i]) / sigmaInterpol;
                sample[i] = saved[i] + derivative * dt;
            }
            _firstOrder = true;
        }
        AdvanceStepIndex();
    }
}
