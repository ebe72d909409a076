using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>KDPM2AncestralDiscreteScheduler</c> (k-diffusion's <c>sample_dpm_2_ancestral</c>): the DPM2 midpoint
/// step down to σ_down, then fresh noise of std σ_up (drawn in the second half of each step, as diffusers 0.35 does).
/// Stochastic; 2N−1 UNet calls.
/// </summary>
public sealed class KDpm2AncestralDiscreteScheduler : KDpm2SchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "KDPM2AncestralDiscreteScheduler", order: 2, stochastic: true,
        "DPM2 a: second-order ancestral sampler, two UNet calls per step; varied, creative results.",
        DeclareOptions(),
        options => new KDpm2AncestralDiscreteScheduler(options),
        new SchedulerAlias("DPM2 a"), new SchedulerAlias("DPM2 a Karras", ("use_karras_sigmas", true)), new SchedulerAlias("k_dpm_2_a"));

    private float[] _sigmasUp = [], _sigmasDown = [];

    public KDpm2AncestralDiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "KDPM2AncestralDiscreteScheduler";

    private protected override int MidpointLag => 1;

    /// <summary>
    /// σ_up, σ_down of each step (σ_up² + σ_down² = σ_next²) and the midpoint exp(lerp(log σ_i, log σ_down,i, 0.5));
    /// the last two midpoints are 0 as in diffusers.
    /// </summary>
    private protected override float[] MidpointSigmas(float[] sigmas)
    {
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
        _sigmasUp = RepeatInterleave(up);
        _sigmasDown = RepeatInterleave(down);
        return interpol;
    }

    private protected override void FinishStep(int index, float sigma, float sigmaMid, ReadOnlySpan<float> denoised,
                                               ReadOnlySpan<float> saved, Span<float> sample, LatentShape shape,
                                               IReadOnlyList<IRandomGenerator>? generators)
    {
        var noise = DrawNoise(generators, shape);
        float sigmaUp = _sigmasUp[index - 1];
        float dt = _sigmasDown[index - 1] - sigma;
        for (int i = 0; i < sample.Length; i++)
        {
            float derivative = (sample[i] - denoised[i]) / sigmaMid;
            float prev = saved[i] + derivative * dt;
            sample[i] = prev + noise[i] * sigmaUp;
        }
    }
}
