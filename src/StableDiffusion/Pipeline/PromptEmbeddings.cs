namespace StableDiffusion.Pipeline;

/// <summary>
/// What the prompt stage hands the denoiser: text embeddings [Rows, SequenceLength, HiddenSize], rows ordered
/// [uncond…, cond…] when guiding (as diffusers concatenates them), else [cond…].
/// </summary>
public sealed record PromptEmbeddings(float[] HiddenStates, int Images, int SequenceLength, int HiddenSize, bool Guided)
{
    /// <summary>UNet rows: 2 per image with classifier-free guidance.</summary>
    public int Rows => Guided ? 2 * Images : Images;

    private int Half => Images * SequenceLength * HiddenSize;

    /// <summary>The negative-prompt embeddings (empty without guidance).</summary>
    public ReadOnlySpan<float> Uncond => Guided ? HiddenStates.AsSpan(0, Half) : default;

    /// <summary>The prompt embeddings.</summary>
    public ReadOnlySpan<float> Cond => HiddenStates.AsSpan(Guided ? Half : 0, Half);

    /// <summary>SDXL's pooled embeddings [Rows, P] in the same row order (text_encoder_2's text_embeds), else null.</summary>
    public float[]? Pooled { get; init; }

    private int PooledHalf => Pooled is null ? 0 : Pooled.Length / Rows * Images;

    /// <summary>The negative prompt's pooled embeddings (empty without guidance or pooled embeddings).</summary>
    public ReadOnlySpan<float> PooledUncond => Guided && Pooled is not null ? Pooled.AsSpan(0, PooledHalf) : default;

    /// <summary>The prompt's pooled embeddings (empty without pooled embeddings).</summary>
    public ReadOnlySpan<float> PooledCond => Pooled is null ? default : Pooled.AsSpan(Guided ? PooledHalf : 0, PooledHalf);
}
