using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// diffusers' <c>get_timesteps(num_inference_steps, strength)</c> of the img2img and inpainting pipelines:
/// <c>init_timestep = min(int(N·strength), N)</c> (a float64 product, truncated), <c>t_start = max(N − init_timestep, 0)</c>;
/// the loop runs <c>timesteps[t_start·order:]</c> and the scheduler's begin index is set there.
/// </summary>
public static class StrengthSchedule
{
    /// <summary>Denoising steps that run for <paramref name="steps"/> and <paramref name="strength"/> (diffusers' new num_inference_steps).</summary>
    public static int StepsRun(int steps, double strength) => Math.Min((int)(steps * strength), steps);

    /// <summary>t_start × order: the first timestep index of the loop.</summary>
    public static int BeginIndex(int steps, double strength, int order) => Math.Max(steps - StepsRun(steps, strength), 0) * order;

    /// <summary>Sets the scheduler's begin index and returns it.</summary>
    public static int Apply(IScheduler scheduler, int steps, double strength)
    {
        int begin = BeginIndex(steps, strength, scheduler.Order);
        scheduler.SetBeginIndex(begin);
        return begin;
    }
}
