using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>KDPM2AncestralDiscreteScheduler</c> (k-diffusion's <c>sample_dpm_2_ancestral</c>): the DPM2 midpoint
/// step down to σ_down, then fresh noise of std σ_up (drawn in the second half of each step, as diffusers 0.35 does).
/// Stochastic; 2N−1 UNet calls.
/// </summary>
public sealed class KDpm2AncestralDiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "KDPM2AncestralDiscreteScheduler", order: 2, stochastic: true,
        "DPM2 a: second-order ancestral sampler, two UNet calls per step; varied, creative results.",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule(0.00085, 0.012, NoiseSchedule.Linear))
            .Add(SigmaRamp.Options())
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon, CommonOptions.Epsilon, CommonOptions.VPrediction))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace))
            .Add(CommonOptions.StepsOffset(0)),
        options => new KDpm2AncestralDiscreteScheduler(options),
        new SchedulerAlias("DPM2 a"), new SchedulerAlias("DPM2 a Karras", ("use_karras_sigmas", true)), new SchedulerAlias("k_dpm_2_a"));

    private float[] _sigmasInterpol = [], _sigmasUp = [], _sigmasDown = [];
    private float[]? _denoised, _savedSample;
    private bool _firstOrder = true;

    public KDpm2AncestralDiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "KDPM2AncestralDiscreteScheduler";
    public override int Order => 2;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas64) = InterpolatedSchedule(inferenceSteps);
        if (Ramp != SigmaRampKind.None)
            for (int i = 0; i < timesteps.Length; i++) timesteps[i] = NumpyOps.Round(timesteps[i]);
        var sigmas = WithFinalSigma(sigmas64, 0.0);
        int m = sigmas.Length;

        var up = new float[m];
        var down = new float[m];
        var interpol = new float[m];
        for (int i = 0; i < m; i++)
        {
            float s = sigmas[i];
            float next = i + 1 < m ? sigmas[i + 1] : 0f;
            up[i] = MathF.Sqrt(next * next * (s * s - next * next) / (s * s));
            down[i] = i == m - 1 ? 0f : MathF.Sqrt(next * next - up[i] * up[i]);
        }
        for (int i = 0; i < m; i++)
            interpol[i] = i >= m - 2 ? 0f : TorchMath.Exp(TorchMath.Lerp(TorchMath.Log(sigmas[i]), TorchMath.Log(down[i]), 0.5f));

        SigmaValues = KDpm2DiscreteScheduler.RepeatInterleave(sigmas);
        _sigmasInterpol = KDpm2DiscreteScheduler.RepeatInterleave(interpol);
        _sigmasUp = KDpm2DiscreteScheduler.RepeatInterleave(up);
        _sigmasDown = KDpm2DiscreteScheduler.RepeatInterleave(down);

        var t32 = ToFloat32(timesteps);
        // Timesteps: [t0, ti0, t1, ti1, t2, …, ti_{n−2}, t_{n−1}].
        var ts = new double[2 * t32.Length - 1];
        ts[0] = t32[0];
        for (int i = 1; i < t32.Length; i++)
        {
            ts[2 * i - 1] = InterpolatedTimestep(SigmaSchedule.SigmaToT(interpol[i - 1], LogSigmas));
            ts[2 * i] = t32[i];
        }
        SetTimestepValues(ts);
        _firstOrder = true;
    }

    /// <summary>
    /// The interpolated timesteps take the dtype of the main ones: float32 normally, but float64 with a sigma ramp
    /// (diffusers rounds the ramp's timesteps with numpy, leaving a float64 tensor).
    /// </summary>
    private double InterpolatedTimestep(double t) => Ramp == SigmaRampKind.None ? (float)t : t;

    public override void ScaleModelInput(Span<float> sample, double timestep)
    {
        int index = CurrentStepIndex(timestep);
        float sigma = _firstOrder ? SigmaValues[index] : _sigmasInterpol[index - 1];
        DivideBySqrtSigmaSquaredPlusOne(sample, sigma);
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        float sigma, sigmaInterpol, sigmaUp, sigmaDown;
        if (_firstOrder)
        {
            sigma = SigmaValues[index];
            sigmaInterpol = _sigmasInterpol[index];
            sigmaUp = _sigmasUp[index];
            sigmaDown = index > 0 ? _sigmasDown[index - 1] : _sigmasDown[^1];
        }
        else
        {
            sigma = SigmaValues[index - 1];
            sigmaInterpol = _sigmasInterpol[index - 1];
            sigmaUp = _sigmasUp[index - 1];
            sigmaDown = _sigmasDown[index - 1];
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
            var noise = DrawNoise(generators, shape);
            float dt = sigmaDown - sigmaHat;
            var saved = _savedSample!;
            for (int i = 0; i < n; i++)
            {
                float derivative = (sample[i] - denoised[i]) / sigmaInterpol;
                float prev = saved[i] + derivative * dt;
                sample[i] = prev + noise[i] * sigmaUp;
            }
            _firstOrder = true;
        }
        AdvanceStepIndex();
    }
}
