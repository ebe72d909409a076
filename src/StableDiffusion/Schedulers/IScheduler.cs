using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// A diffusion scheduler with diffusers' semantics. Built from a <see cref="SchedulerConfig"/>
/// (the model's scheduler_config.json plus overrides); one instance runs one generation at a time
/// because it keeps state between steps (previous model outputs, step index).
/// </summary>
public interface IScheduler
{
    /// <summary>The diffusers class name, e.g. <c>PNDMScheduler</c>.</summary>
    string Name { get; }

    /// <summary>The effective configuration (model config, overrides, then class defaults).</summary>
    SchedulerConfig Config { get; }

    /// <summary>diffusers' <c>order</c>: UNet calls per step of the solver.</summary>
    int Order { get; }

    /// <summary>Standard deviation of the initial noise (<c>init_noise_sigma</c>).</summary>
    float InitNoiseSigma { get; }

    /// <summary>
    /// The values fed to the UNet, one per iteration, in order (diffusers' <c>scheduler.timesteps</c>;
    /// integral for most schedulers, float32 values for the sigma-space ones). Valid after <see cref="SetTimesteps"/>.
    /// </summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>The sigmas where the scheduler has them (Euler family, DPM-Solver…), else null.</summary>
    IReadOnlyList<float>? Sigmas { get; }

    /// <summary>Prepares a run of <paramref name="inferenceSteps"/> steps and resets all state.</summary>
    void SetTimesteps(int inferenceSteps);

    /// <summary>
    /// diffusers' <c>scale_model_input</c>, in place. <paramref name="sample"/> may hold several copies
    /// of the latents (classifier-free guidance); every element is scaled alike.
    /// </summary>
    void ScaleModelInput(Span<float> sample, double timestep);

    /// <summary>
    /// diffusers' <c>step</c>: from the model output at <paramref name="timestep"/>, replaces
    /// <paramref name="sample"/> with <c>prev_sample</c>. <paramref name="generators"/> holds one
    /// generator per image of the batch; stochastic schedulers draw each image's noise from its own
    /// generator with shape [1, C, H, W], as diffusers does with a list of generators.
    /// </summary>
    void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
              IReadOnlyList<IRandomGenerator>? generators = null);
}
