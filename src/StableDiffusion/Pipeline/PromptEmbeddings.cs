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
}
