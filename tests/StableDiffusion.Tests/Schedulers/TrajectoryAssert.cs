using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>Compares a C# trajectory with a fixture run.</summary>
public static class TrajectoryAssert
{
    /// <summary>Tolerance on latents and scaled inputs: |a − e| ≤ 1e-5 · max(|e|, 1), i.e. 1e-5 relative for large
    /// magnitudes (≈1.5e-4 absolute at the Euler family's σ_max ≈ 14.6) and 1e-5 absolute below 1.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Timesteps, sigmas and init_noise_sigma must equal the run's exactly in float32.</summary>
    public static void ScheduleEqual(SchedulerRun run, IScheduler scheduler)
    {
        ScheduleWithin(run, scheduler, timestepUlps: 0, sigmaUlps: 0);
        Assert.True((float)run.InitNoiseSigma == scheduler.InitNoiseSigma,
            $"{run.Id}: init_noise_sigma = {scheduler.InitNoiseSigma:R}, expected {run.InitNoiseSigma:R}.");
    }

    /// <summary>
    /// Timesteps (compared in float32) and sigmas within the given float32 ulps of the run's (0: equal), the same
    /// counts, no sigmas where the run has none; the same solver order.
    /// </summary>
    public static void ScheduleWithin(SchedulerRun run, IScheduler scheduler, int timestepUlps, int sigmaUlps)
    {
        Assert.Equal(run.Timesteps.Length, scheduler.Timesteps.Count);
        for (int i = 0; i < run.Timesteps.Length; i++)
            Assert.True(UlpDistance((float)run.Timesteps[i], (float)scheduler.Timesteps[i]) <= timestepUlps,
                $"{run.Id}: timestep[{i}] = {scheduler.Timesteps[i]:R}, expected {run.Timesteps[i]:R} (±{timestepUlps} ulp).");
        if (run.Sigmas is null)
        {
            Assert.Null(scheduler.Sigmas);
        }
        else
        {
            Assert.NotNull(scheduler.Sigmas);
            Assert.Equal(run.Sigmas.Length, scheduler.Sigmas!.Count);
            for (int i = 0; i < run.Sigmas.Length; i++)
                Assert.True(UlpDistance(run.Sigmas[i], scheduler.Sigmas[i]) <= sigmaUlps,
                    $"{run.Id}: sigma[{i}] = {scheduler.Sigmas[i]:R}, expected {run.Sigmas[i]:R} (±{sigmaUlps} ulp).");
        }
        Assert.Equal(run.Order, scheduler.Order);
    }

    /// <summary>How many float32 values lie between <paramref name="a"/> and <paramref name="b"/> (0 when equal; NaN is never close).</summary>
    public static long UlpDistance(float a, float b)
    {
        if (a == b) return 0;
        if (float.IsNaN(a) || float.IsNaN(b)) return long.MaxValue;
        static long Ordered(float f) { int bits = BitConverter.SingleToInt32Bits(f); return bits < 0 ? int.MinValue - (long)bits : bits; }
        return Math.Abs(Ordered(a) - Ordered(b));
    }

    /// <summary>Largest scaled error |a − e| / max(|e|, 1) over a trajectory file.</summary>
    public static double MaxError(string path, IReadOnlyList<float[]> actual, out int worstFrame)
    {
        var expected = Fixtures.ReadF32(path);
        int n = TrajectoryRunner.Shape.Length;
        Assert.Equal(expected.Length, actual.Count * n);
        double max = 0;
        worstFrame = -1;
        for (int f = 0; f < actual.Count; f++)
        {
            double err = MaxError(expected.AsSpan(f * n, n), actual[f]);
            if (err > max) { max = err; worstFrame = f; }
        }
        return max;
    }

    /// <summary>Largest scaled error |a − e| / max(|e|, 1) between two buffers of equal length; NaN counts as infinite.</summary>
    public static double MaxError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double err = Math.Abs(a - e) / Math.Max(Math.Abs(e), 1.0);
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            if (err > max) max = err;
        }
        return max;
    }

    /// <summary>Asserts the whole run: schedule exact, scaled inputs and latents within <see cref="Tolerance"/>.</summary>
    public static (double Scaled, double Latents) RunMatches(SchedulerRun run, IScheduler scheduler, TrajectoryRunner.Result result)
    {
        ScheduleEqual(run, scheduler);
        return TrajectoriesMatch(run, result);
    }

    /// <summary>Asserts scaled inputs and latents within <see cref="Tolerance"/>; returns the largest errors.</summary>
    public static (double Scaled, double Latents) TrajectoriesMatch(SchedulerRun run, TrajectoryRunner.Result result)
    {
        double scaled = MaxError(run.ScaledInputsFile!, result.ScaledInputs, out int fs);
        double latents = MaxError(run.LatentsFile!, result.Latents, out int fl);
        Assert.True(scaled <= Tolerance, $"{run.Id}: scaled inputs off by {scaled:G3} (frame {fs}).");
        Assert.True(latents <= Tolerance, $"{run.Id}: latents off by {latents:G3} (frame {fl}).");
        return (scaled, latents);
    }
}
