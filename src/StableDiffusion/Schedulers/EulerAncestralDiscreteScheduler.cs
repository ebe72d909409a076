using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerAncestralDiscreteScheduler</c> (k-diffusion's <c>sample_euler_ancestral</c>): an Euler step down to
/// σ_down followed by fresh noise of std σ_up, with σ_up² + σ_down² = σ_next². Stochastic.
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "EulerAncestralDiscreteScheduler", order: 1, stochastic: true,
        "Fast and creative: adds fresh noise every step, so images keep changing with the step count; 20–30 steps.",
        new SchedulerOptionSet(CommonOptions.NoiseSchedule())
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon, CommonOptions.Epsilon, CommonOptions.VPrediction))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace))
            .Add(CommonOptions.StepsOffset(0))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new EulerAncestralDiscreteScheduler(options),
        new SchedulerAlias("Euler a"), new SchedulerAlias("Euler Ancestral"), new SchedulerAlias("k_euler_a"));

    private float[]? _denoised;

    public EulerAncestralDiscreteScheduler(SchedulerOptions options) : base(options, zeroSnrTinyAlpha: true) { }

    public override string Name => "EulerAncestralDiscreteScheduler";

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        var (timesteps, sigmas) = InterpolatedSchedule(inferenceSteps);
        SigmaValues = WithFinalSigma(sigmas, 0.0);
        SetTimestepValues(ToFloat32(timesteps));
    }

    public override void ScaleModelInput(Span<float> sample, double timestep)
    {
        int index = CurrentStepIndex(timestep);
        DivideBySqrtSigmaSquaredPlusOne(sample, SigmaValues[index]);
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        float sigma = SigmaValues[index];
        var denoised = Rent(ref _denoised, sample.Length);
        PredictOriginal(modelOutput, sample, sigma, denoised);

        float sigmaFrom = sigma, sigmaTo = SigmaValues[index + 1];
        float sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo) / (sigmaFrom * sigmaFrom));
        float sigmaDown = MathF.Sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
        float dt = sigmaDown - sigma;

        var noise = DrawNoise(generators, shape);
        for (int i = 0; i < sample.Length; i++)
        {
            float derivative = (sample[i] - denoised[i]) / sigma;
            float prev = sample[i] + derivative * dt;
            sample[i] = prev + noise[i] * sigmaUp;
        }
        AdvanceStepIndex();
    }
}
