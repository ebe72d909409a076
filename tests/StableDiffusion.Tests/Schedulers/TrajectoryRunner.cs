using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// Runs the fixture's fake denoising loop on a scheduler:
/// x = init * init_noise_sigma; per t: x_in = scale_model_input(x, t); eps = x_in*0.1f + (float)(0.01*t/1000); x = step(eps, t, x).
/// </summary>
public static class TrajectoryRunner
{
    public static readonly LatentShape Shape = new(1, 4, 8, 8);

    public sealed record Result(double[] Timesteps, float[]? Sigmas, float InitNoiseSigma, List<float[]> Latents, List<float[]> ScaledInputs);

    /// <summary>
    /// The initial noise of every fixture run: randn((1,4,8,8), torch.Generator('cpu').manual_seed(0)), before
    /// init_noise_sigma. With <paramref name="run"/> (a run whose init_noise_sigma is 1) it must equal the run's own
    /// first latents frame exactly.
    /// </summary>
    public static float[] InitialNoise(SchedulerRun? run = null)
    {
        var noise = new float[Shape.Length];
        new TorchGenerator(0).Randn(noise);
        if (run is not null) Assert.Equal(Fixtures.ReadF32(run.LatentsFile!)[..Shape.Length], noise);
        return noise;
    }

    /// <summary>The step generator of a run: torch.Generator('cpu').manual_seed(1000), created once per run.</summary>
    public static TorchGenerator StepGenerator() => new(1000);

    /// <summary>
    /// Runs the loop. <paramref name="initialNoise"/> is randn((1,4,8,8), seed 0) (before init_noise_sigma);
    /// <paramref name="stepGenerator"/> is the generator passed to every step (seed 1000 in the fixtures).
    /// </summary>
    /// <param name="initNoiseSigma">Overrides the scheduler's init_noise_sigma (to replay a run recorded by another version).</param>
    /// <param name="beforeStep">Called with the iteration index before each step (to replay another version's generator use).</param>
    /// <param name="eta">The <c>eta</c> passed to every step (DDIM's η).</param>
    public static Result Run(IScheduler scheduler, int steps, float[] initialNoise, IRandomGenerator? stepGenerator = null,
                             float? initNoiseSigma = null, Action<int>? beforeStep = null, double eta = 0)
    {
        scheduler.SetTimesteps(steps);
        float sigma = initNoiseSigma ?? scheduler.InitNoiseSigma;
        var x = new float[Shape.Length];
        for (int i = 0; i < x.Length; i++) x[i] = initialNoise[i] * sigma;
        var latents = new List<float[]> { (float[])x.Clone() };
        var scaled = new List<float[]>();
        var xIn = new float[x.Length];
        var eps = new float[x.Length];
        IReadOnlyList<IRandomGenerator>? generators = stepGenerator is null ? null : [stepGenerator];
        int iteration = 0;
        foreach (double t in scheduler.Timesteps.ToArray())
        {
            beforeStep?.Invoke(iteration++);
            x.CopyTo(xIn, 0);
            scheduler.ScaleModelInput(xIn, t);
            scaled.Add((float[])xIn.Clone());
            float shift = (float)(0.01 * t / 1000.0);
            for (int i = 0; i < eps.Length; i++) eps[i] = xIn[i] * 0.1f + shift;
            scheduler.Step(eps, t, x, Shape, generators, eta);
            latents.Add((float[])x.Clone());
        }
        return new Result(scheduler.Timesteps.ToArray(), scheduler.Sigmas?.ToArray(), scheduler.InitNoiseSigma, latents, scaled);
    }

}
