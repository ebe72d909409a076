namespace StableDiffusion.Pipeline;

/// <summary>
/// Watches a generation from inside: progress for the cmdlets, intermediates for the parity tests
/// (diffusers' callback_on_step_end, but read-only). Every method is optional. Spans are only valid during the call.
/// </summary>
public abstract class GenerationObserver
{
    /// <summary>
    /// The prompts were encoded (stage 1): the text embeddings (<see cref="PromptEmbeddings.Uncond"/> is empty without
    /// classifier-free guidance; SDXL adds pooled embeddings) and the further UNet inputs built from them (SDXL's
    /// text_embeds and time_ids; empty for SD 1.x/2.x). Read only.
    /// </summary>
    public virtual void OnPromptEncoded(PromptEmbeddings prompt, IReadOnlyList<Models.NamedTensor> unetInputs) { }

    /// <summary>The start latents were prepared (stage 2): the noise and, for image tasks, every intermediate.</summary>
    public virtual void OnLatentsPrepared(LatentsInfo info) { }

    /// <summary>After each scheduler step.</summary>
    public virtual void OnStep(StepInfo step) { }

    /// <summary>The VAE's input (latents / scaling factor) and raw output.</summary>
    public virtual void OnDecoded(ReadOnlySpan<float> vaeInput, ReadOnlySpan<float> vaeOutput) { }
}

/// <summary>
/// What the prepare-latents stage made (empty spans where a task has no such step): pre-processed inputs, the VAE
/// encoder's distribution parameters and samples, the noise and the start latents.
/// </summary>
public readonly ref struct LatentsInfo
{
    /// <summary>The latent noise of the batch (before init_noise_sigma), image i from generator i.</summary>
    public ReadOnlySpan<float> Noise { get; init; }

    /// <summary>The start latents the loop begins from (img2img/inpaint; text-to-image: noise × init_noise_sigma follows).</summary>
    public ReadOnlySpan<float> StartLatents { get; init; }

    /// <summary>Index into the scheduler's timesteps of the first iteration.</summary>
    public int BeginIndex { get; init; }

    /// <summary>The init image as the VAE sees it, [1, 3, H, W] in [-1, 1].</summary>
    public ReadOnlySpan<float> Image { get; init; }

    /// <summary>The binarized mask [1, 1, H, W] and the masked image [1, 3, H, W] (inpainting).</summary>
    public ReadOnlySpan<float> Mask { get; init; }
    public ReadOnlySpan<float> MaskedImage { get; init; }

    /// <summary>VAE encoder distribution parameters, one row [8, h, w] per encode call (image, then masked image).</summary>
    public ReadOnlySpan<float> VaeParameters { get; init; }

    /// <summary>The randn draws of the VAE samples and the samples (mean + std·eps), in draw order.</summary>
    public ReadOnlySpan<float> VaeEps { get; init; }
    public ReadOnlySpan<float> VaeSamples { get; init; }

    /// <summary>Scaled image latents [B, 4, h, w] (img2img init latents; inpainting image latents when drawn).</summary>
    public ReadOnlySpan<float> ImageLatents { get; init; }

    /// <summary>Inpainting: the latent-size mask and masked-image latents as the UNet gets them (rows doubled for guidance).</summary>
    public ReadOnlySpan<float> MaskLatents { get; init; }
    public ReadOnlySpan<float> MaskedImageLatents { get; init; }
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
