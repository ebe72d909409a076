namespace StableDiffusion.Pipeline;

/// <summary>
/// One image to generate: its prompt, negative prompt and seed. Every image has its own generator seeded with
/// <see cref="Seed"/>, as diffusers does with a list of generators, so any image can be regenerated alone.
/// </summary>
/// <param name="Prompt">What to draw.</param>
/// <param name="NegativePrompt">What to steer away from (empty: the unconditional embedding of "").</param>
/// <param name="Seed">Seed of this image's torch-compatible generator.</param>
/// <param name="Index">Position of the image in the caller's request (for naming and ordering).</param>
public sealed record ImageRequest(string Prompt, string? NegativePrompt, long Seed, int Index = 0);
