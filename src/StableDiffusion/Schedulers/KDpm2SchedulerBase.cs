using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// The DPM2 midpoint method that <see cref="KDpm2DiscreteScheduler"/> and <see cref="KDpm2AncestralDiscreteScheduler"/>
/// share (k-diffusion's <c>sample_dpm_2</c>): each step is two UNet calls, at σ and at a midpoint σ_mid in log-sigma
/// space. The first half moves the sample to σ_mid with the derivative at σ; the second half restarts from the saved
/// sample with the derivative at σ_mid (<see cref="FinishStep"/>). Sigmas, midpoints and timesteps are laid out as
/// diffusers does: [x0, x1, x1, …] (two entries per step after the first).
/// </summary>
public abstract class KDpm2SchedulerBase : SigmaSchedulerBase
{
    private float[] _sigmasInterpol = [];
    private float[]? _savedSample;
    private bool _firstOrder = true;

    protected KDpm2SchedulerBase(SchedulerOptions options) : base(options) { }

    /// <summary>The option declarations of both classes (diffusers 0.35.2 defaults).</summary>
    internal static SchedulerOptionSet DeclareOptions() =>
        BaseOptions(sigmaRamp: true, 0.00085, 0.012, NoiseSchedule.Linear, CommonOptions.Epsilon, CommonOptions.VPrediction);

    public override int Order => 2;

    /// <summary>The interpolated (midpoint) sigmas, laid out like <see cref="SigmaSchedulerBase.Sigmas"/>.</summary>
    public IReadOnlyList<float> SigmasInterpol => _sigmasInterpol;

    /// <summary>
    /// Where a step's midpoint sits in <see cref="SigmasInterpol"/>, counted back from the index of the step's second
    /// half: KDPM2's σ_interpol[i] is the midpoint reaching σ_i (0), KDPM2 a's the one leaving σ_i (1).
    /// </summary>
    private protected abstract int MidpointLag { get; }

    /// <summary>The midpoint sigma of each sigma of <paramref name="sigmas"/> (the schedule with its final 0).</summary>
    private protected abstract float[] MidpointSigmas(float[] sigmas);

    /// <summary>
    /// The second half of a step: from the <paramref name="saved"/> sample at <paramref name="sigma"/>, with the
    /// derivative at <paramref name="sigmaMid"/>, to the next sigma (<see cref="SigmaSchedulerBase.Sigmas"/>[<paramref name="index"/>]).
    /// </summary>
    private protected abstract void FinishStep(int index, float sigma, float sigmaMid, ReadOnlySpan<float> denoised,
                                               ReadOnlySpan<float> saved, Span<float> sample, LatentShape shape,
                                               IReadOnlyList<IRandomGenerator>? generators);

    protected sealed override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas64) = InterpolatedSchedule(inferenceSteps);
        if (Ramp != SigmaRampKind.None)
            for (int i = 0; i < timesteps.Length; i++) timesteps[i] = NumpyOps.Round(timesteps[i]);
        var sigmas = WithFinalSigma(sigmas64, 0.0);
        var midpoints = MidpointSigmas(sigmas);
        SigmaValues = RepeatInterleave(sigmas);
        _sigmasInterpol = RepeatInterleave(midpoints);

        var t32 = ToFloat32(timesteps);
        // Timesteps: [t0, tm, t1, tm, t2, …, t_{n−1}], each tm the timestep of the step's midpoint sigma.
        var ts = new double[2 * t32.Length - 1];
        ts[0] = t32[0];
        for (int i = 1; i < t32.Length; i++)
        {
            ts[2 * i - 1] = InterpolatedTimestep(SigmaSchedule.SigmaToT(midpoints[i - MidpointLag], LogSigmas));
            ts[2 * i] = t32[i];
        }
        SetTimestepValues(ts);
        _firstOrder = true;
    }

    /// <summary>[x0, x1, x1, …, x_last, x_last, x_last]: diffusers' cat([x[:1], x[1:].repeat_interleave(2), x[-1:]]).</summary>
    private protected static float[] RepeatInterleave(float[] x)
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

    /// <summary>The first half is scaled for σ, the second for the midpoint.</summary>
    protected sealed override float ModelInputSigma(int index) =>
        _firstOrder ? SigmaValues[index] : _sigmasInterpol[index - MidpointLag];

    public sealed override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        int second = _firstOrder ? index + 1 : index; // the index of this step's second half
        float sigmaHat = SigmaValues[second - 1]; // γ = 0
        float sigmaMid = _sigmasInterpol[second - MidpointLag];
        var denoised = Denoise(modelOutput, sample, _firstOrder ? sigmaHat : sigmaMid);

        if (_firstOrder)
        {
            float dt = sigmaMid - sigmaHat;
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
            FinishStep(index, sigmaHat, sigmaMid, denoised, _savedSample!, sample, shape, generators);
            _firstOrder = true;
        }
        AdvanceStepIndex();
    }
}
