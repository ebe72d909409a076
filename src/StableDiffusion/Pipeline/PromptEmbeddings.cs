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

    /// <summary>
    /// SDXL's pooled text embeddings (text_encoder_2's <c>text_embeds</c>) [Rows, <see cref="PooledSize"/>], in the
    /// row order of <see cref="HiddenStates"/>; null for SD 1.x/2.x.
    /// </summary>
    public float[]? Pooled { get; init; }

    /// <summary>Width of a pooled embedding; 0 without <see cref="Pooled"/>.</summary>
    public int PooledSize => Pooled is null ? 0 : Pooled.Length / Rows;

    /// <summary>The negative-prompt pooled embeddings (empty without guidance or without <see cref="Pooled"/>).</summary>
    public ReadOnlySpan<float> PooledUncond => Guided && Pooled is not null ? Pooled.AsSpan(0, Images * PooledSize) : default;

    /// <summary>The prompt's pooled embeddings (empty without <see cref="Pooled"/>).</summary>
    public ReadOnlySpan<float> PooledCond => Pooled is null ? default : Pooled.AsSpan(Guided ? Images * PooledSize : 0, Images * PooledSize);
}
