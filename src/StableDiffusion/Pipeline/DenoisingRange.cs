using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// diffusers' SDXL hand-off between base and refiner (the "ensemble of expert denoisers"): <c>denoising_end = f</c> keeps the
/// timesteps ≥ <c>int(round(T − f·T))</c>; <c>denoising_start = f</c> starts at the first timestep below that cut-off
/// (one more for second-order schedulers on an even count, so the hand-off does not split a Heun step), sets the begin index
/// there and adds no noise. T = num_train_timesteps; Python's round is to even.
/// </summary>
public static class DenoisingRange
{
    public static int Cutoff(double fraction, IScheduler scheduler)
    {
        int train = scheduler.Config.GetInt("num_train_timesteps", 1000);
        return (int)Math.Round(train - fraction * train, MidpointRounding.ToEven);
    }

    /// <summary><c>get_timesteps(denoising_start=…)</c>: the begin index, set on the scheduler.</summary>
    public static int ApplyStart(IScheduler scheduler, double denoisingStart)
    {
        int cutoff = Cutoff(denoisingStart, scheduler);
        var timesteps = scheduler.Timesteps;
        int n = timesteps.Count(t => t < cutoff);
        if (scheduler.Order == 2 && n % 2 == 0) n++;
        int begin = timesteps.Count - n;
        scheduler.SetBeginIndex(begin);
        return begin;
    }

    /// <summary>Iterations that run from <paramref name="begin"/> with <c>denoising_end</c> (all of them when null).</summary>
    public static int Iterations(IScheduler scheduler, int begin, double? denoisingEnd)
    {
        int remaining = scheduler.Timesteps.Count - begin;
        if (denoisingEnd is not double end) return remaining;
        int cutoff = Cutoff(end, scheduler);
        return scheduler.Timesteps.Skip(begin).Count(t => t >= cutoff);
    }
}
