using StableDiffusion.Prompts;

namespace StableDiffusion.Pipeline;

/// <summary>A1111's settings for <see cref="PromptSyntax.A1111"/> prompts, at v1.10.1's defaults.</summary>
public sealed record A1111Options
{
    public static readonly A1111Options Default = new();

    /// <summary>A1111's "Emphasis mode" (default "Original": weights applied, then the mean restored).</summary>
    public EmphasisMode Emphasis { get; init; } = EmphasisMode.Original;

    /// <summary>
    /// A1111's "Pad prompt/negative prompt" (<c>pad_cond_uncond</c>): when prompt and negative prompt have different chunk
    /// counts, the shorter gets encodings of "" appended so that one UNet call takes both. Off (A1111's default): the two
    /// halves of the guidance batch go through the UNet in separate calls, each with its own length.
    /// </summary>
    public bool PadCondUncond { get; init; }
}
