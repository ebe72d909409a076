using StableDiffusion.Text;

namespace StableDiffusion.Pipeline;

/// <summary>
/// What each SDXL text encoder receives, one entry per embedding row ([uncond…, cond…] when guiding, as
/// <see cref="PromptEmbeddings"/>); a null entry is a negative row that is zeroed instead of encoded
/// (force_zeros_for_empty_prompt).
/// </summary>
/// <param name="First">tokenizer/ → text_encoder/ rows; null when the model has no first encoder (the refiner).</param>
/// <param name="Second">tokenizer_2/ → text_encoder_2/ rows.</param>
public sealed record SdxlPromptTokens(PromptTokens?[]? First, PromptTokens?[] Second);
