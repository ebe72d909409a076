using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>KDPM2DiscreteScheduler</c> (k-diffusion's <c>sample_dpm_2</c>): a midpoint method in log-sigma space;
/// each step evaluates the model at σ and at the geometric mean of σ and σ_next (2N−1 UNet calls). Deterministic.
/// </summary>
public sealed class KDpm2DiscreteScheduler : KDpm2SchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "KDPM2DiscreteScheduler", order: 2, stochastic: false,
        "DPM2: second-order, two UNet calls per step; accurate at moderate step counts (Karras variant often preferred).",
        DeclareOptions(),
        options => new KDpm2DiscreteScheduler(options),
        new SchedulerAlias("DPM2"), new SchedulerAlias("DPM2 Karras", ("use_karras_sigmas", true)), new SchedulerAlias("k_dpm_2"));

    public KDpm2DiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "KDPM2DiscreteScheduler";

    private protected override int MidpointLag => 0;

    /// <summary>σ_interpol[i] = exp(lerp(log σ_i, log σ_{i−1}, 0.5)): the geometric mean with the previous sigma (roll(1)).</summary>
    private protected override float[] MidpointSigmas(float[] sigmas)
    {
        int m = sigmas.Length;
        var interpol = new float[m];
        for (int i = 0; i < m; i++)
        {
            float a = TorchMath.Log(sigmas[i]), b = TorchMath.Log(sigmas[(i - 1 + m) % m]);
            interpol[i] = TorchMath.Exp(TorchMath.Lerp(a, b, 0.5f));
        }
        return interpol;
    }

    private protected override void FinishStep(int index, float sigma, float sigmaMid, ReadOnlySpan<float> denoised,
                                               ReadOnlySpan<float> saved, Span<float> sample, LatentShape shape,
                                               IReadOnlyList<IRandomGenerator>? generators)
    {
        float dt = SigmaValues[index] - sigma;
        for (int i = 0; i < sample.Length; i++)
        {
            float derivative = (sample[i] - denoised[i]) / sigmaMid;
            sample[i] = saved[i] + derivative * dt;
        }
    }
}
