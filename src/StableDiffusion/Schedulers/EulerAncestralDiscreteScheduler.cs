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
        BaseOptions(sigmaRamp: false, predictionTypes: [CommonOptions.Epsilon, CommonOptions.VPrediction])
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new EulerAncestralDiscreteScheduler(options),
        new SchedulerAlias("Euler a"), new SchedulerAlias("Euler Ancestral"), new SchedulerAlias("k_euler_a"));

    public EulerAncestralDiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "EulerAncestralDiscreteScheduler";

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        float sigma = SigmaValues[index];
        var denoised = Denoise(modelOutput, sample, sigma);

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
