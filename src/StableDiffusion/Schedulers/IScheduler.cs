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

    /// <summary>Prepares a run of <paramref name="inferenceSteps"/> steps and resets all state (step index and begin index too).</summary>
    void SetTimesteps(int inferenceSteps);

    /// <summary>
    /// diffusers' <c>step_index</c>: the position in <see cref="Timesteps"/> of the next step once the run has started
    /// (<see cref="ScaleModelInput"/> or <see cref="Step"/> fixes it), else null. Always null for DDIM, DDPM and PNDM,
    /// which have no step index in diffusers.
    /// </summary>
    int? StepIndex { get; }

    /// <summary>diffusers' <c>begin_index</c>: the value of the last <see cref="SetBeginIndex"/> since <see cref="SetTimesteps"/>, or null.</summary>
    int? BeginIndex { get; }

    /// <summary>
    /// diffusers' <c>set_begin_index</c>, which img2img/inpainting pipelines call with <c>t_start * order</c> before the
    /// first step: the run's first step index is then <paramref name="beginIndex"/> instead of being looked up from the
    /// timestep, and <see cref="AddNoise"/> of the sigma-space classes uses it. DDIM, DDPM and PNDM have no
    /// <c>set_begin_index</c> in diffusers (the pipelines skip the call): for them it is harmless, only recorded in
    /// <see cref="BeginIndex"/>, changing neither <see cref="Step"/> nor <see cref="AddNoise"/>. Cleared by <see cref="SetTimesteps"/>.
    /// </summary>
    void SetBeginIndex(int beginIndex);

    /// <summary>
    /// diffusers' <c>scale_model_input</c>, in place. <paramref name="sample"/> may hold several copies
    /// of the latents (classifier-free guidance); every element is scaled alike.
    /// </summary>
    void ScaleModelInput(Span<float> sample, double timestep);

    /// <summary>
    /// diffusers' <c>step</c>: from the model output at <paramref name="timestep"/>, replaces
    /// <paramref name="sample"/> with <c>prev_sample</c>. <paramref name="generators"/> holds one
    /// generator per image of the batch; stochastic schedulers draw each image's noise from its own
    /// generator with shape [1, C, H, W], as diffusers does with a list of generators. <paramref name="eta"/> is
    /// diffusers' <c>eta</c> (η) argument of <c>step()</c>: the weight of DDIM's stochastic noise (0 = deterministic
    /// DDIM, 1 ≈ DDPM; noise is drawn only when η &gt; 0). Only DDIM's <c>step()</c> has it; the other classes ignore
    /// it, as the pipelines' <c>prepare_extra_step_kwargs</c> passes it to DDIM alone.
    /// </summary>
    void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0);

    /// <summary>
    /// diffusers' <c>add_noise(original_samples, noise, timesteps)</c>, float32 like torch, into <paramref name="destination"/>.
    /// <paramref name="timesteps"/> holds one timestep per batch row (row length = <c>originalSamples.Length /
    /// timesteps.Length</c>; a single timestep applies to the whole batch, as torch broadcasts it). Per class:
    /// <list type="bullet">
    /// <item>DDIM, DDPM, PNDM, LCM: sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·noise, t an integral index into the training ᾱ table
    /// (any of the 0 … num_train_timesteps − 1, not only the run's timesteps; usable before <see cref="SetTimesteps"/>;
    /// the begin and step indices play no part).</item>
    /// <item>LMS, Euler, Euler a, Heun, KDPM2, KDPM2 a: x₀ + σ·noise; DPM-Solver multistep/singlestep, DEIS, UniPC:
    /// α_σ·x₀ + σ_σ·noise with α_σ = 1/sqrt(σ² + 1), σ_σ = σ·α_σ. σ = <see cref="Sigmas"/>[i] with diffusers' index rule:
    /// without a <see cref="BeginIndex"/>, i = the timestep's index in <see cref="Timesteps"/> (the second occurrence
    /// of a repeated one; for the four VP solvers an unknown timestep means the last index); else i =
    /// <see cref="StepIndex"/> once stepping has started (the inpainting loop re-noising after a step), else
    /// <see cref="BeginIndex"/> — the timestep values are then ignored. Needs <see cref="SetTimesteps"/> first.</item>
    /// </list>
    /// The operation is elementwise: <paramref name="destination"/> may be <paramref name="originalSamples"/> or
    /// <paramref name="noise"/> itself (same start), but must not partially overlap either. Allocates nothing.
    /// </summary>
    void AddNoise(ReadOnlySpan<float> originalSamples, ReadOnlySpan<float> noise, ReadOnlySpan<double> timesteps, Span<float> destination);
}
