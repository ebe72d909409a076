namespace StableDiffusion.Pipeline;

/// <summary>
/// Watches a generation from inside: progress for the cmdlets, intermediates for the parity tests
/// (diffusers' callback_on_step_end, but read-only). Every method is optional. Spans are only valid during the call.
/// </summary>
public abstract class GenerationObserver
{
    /// <summary>Text embeddings: <paramref name="uncond"/> is empty without classifier-free guidance.</summary>
    public virtual void OnTextEmbeddings(ReadOnlySpan<float> uncond, ReadOnlySpan<float> cond) { }

    /// <summary>The initial noise of the batch (before init_noise_sigma).</summary>
    public virtual void OnInitialNoise(ReadOnlySpan<float> noise) { }

    /// <summary>After each scheduler step.</summary>
    public virtual void OnStep(StepInfo step) { }

    /// <summary>The VAE's input (latents / scaling factor) and raw output.</summary>
    public virtual void OnDecoded(ReadOnlySpan<float> vaeInput, ReadOnlySpan<float> vaeOutput) { }
}

/// <summary>What one denoising iteration saw and produced.</summary>
public readonly ref struct StepInfo
{
    public int Iteration { get; init; }
    public int Iterations { get; init; }
    public double Timestep { get; init; }
    public TimeSpan Elapsed { get; init; }
    public ReadOnlySpan<float> UNetInput { get; init; }
    public ReadOnlySpan<float> UNetOutput { get; init; }
    public ReadOnlySpan<float> GuidedNoise { get; init; }
    public ReadOnlySpan<float> Latents { get; init; }
}
