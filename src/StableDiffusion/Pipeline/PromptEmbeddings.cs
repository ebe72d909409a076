namespace StableDiffusion.Pipeline;

/// <summary>
/// What the prompt stage hands the denoiser: text embeddings [Rows, SequenceLength, HiddenSize], rows ordered
/// [uncond…, cond…] when guiding (as diffusers concatenates them), else [cond…]. With A1111 prompts the negative rows may
/// be of another length (<see cref="UncondSequenceLength"/>), and the conditioning may change between steps (<see cref="Schedule"/>).
/// </summary>
public sealed record PromptEmbeddings(float[] HiddenStates, int Images, int SequenceLength, int HiddenSize, bool Guided)
{
    /// <summary>UNet rows: 2 per image with classifier-free guidance.</summary>
    public int Rows => Guided ? 2 * Images : Images;

    private readonly int? _uncondSequenceLength;

    /// <summary>Tokens per negative row: <see cref="SequenceLength"/> unless A1111 prompt and negative prompt differ in chunks.</summary>
    public int UncondSequenceLength
    {
        get => _uncondSequenceLength ?? SequenceLength;
        init => _uncondSequenceLength = value;
    }

    /// <summary>Whether the negative and prompt rows have different lengths (then they cannot share one UNet call).</summary>
    public bool HasUnevenHalves => Guided && UncondSequenceLength != SequenceLength;

    private int UncondLength => Guided ? Images * UncondSequenceLength * HiddenSize : 0;

    /// <summary>The negative-prompt embeddings (empty without guidance).</summary>
    public ReadOnlySpan<float> Uncond => Guided ? HiddenStates.AsSpan(0, UncondLength) : default;

    /// <summary>The prompt embeddings.</summary>
    public ReadOnlySpan<float> Cond => HiddenStates.AsSpan(UncondLength, Images * SequenceLength * HiddenSize);

    /// <summary>The conditioning of every denoising iteration when it changes during the loop (A1111 prompt editing), else null.</summary>
    public ConditioningSchedule? Schedule { get; init; }

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
