namespace StableDiffusion.Pipeline;

/// <summary>
/// One image to generate: its prompt, negative prompt and seed. Every image has its own generator seeded with
/// <see cref="Seed"/>, as diffusers does with a list of generators, so any image can be regenerated alone.
/// </summary>
/// <param name="Prompt">What to draw.</param>
/// <param name="NegativePrompt">What to steer away from (empty: the unconditional embedding of ""; null: the same for
/// SD 1.x/2.x, zero embeddings for SDXL models with force_zeros_for_empty_prompt).</param>
/// <param name="Seed">Seed of this image's torch-compatible generator.</param>
/// <param name="Index">Position of the image in the caller's request (for naming and ordering).</param>
public sealed record ImageRequest(string Prompt, string? NegativePrompt, long Seed, int Index = 0)
{
    /// <summary>SDXL's prompt for the second text encoder (diffusers' <c>prompt_2</c>); null or empty: <see cref="Prompt"/>.</summary>
    public string? Prompt2 { get; init; }

    /// <summary>SDXL's negative prompt for the second text encoder (<c>negative_prompt_2</c>); null or empty: <see cref="NegativePrompt"/>.</summary>
    public string? NegativePrompt2 { get; init; }
}
