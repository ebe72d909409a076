namespace StableDiffusion.Prompts;

/// <summary>
/// One 77-token CLIP window of an A1111 prompt (<c>sd_hijack_clip.PromptChunk</c>): BOS, 75 prompt tokens padded with
/// EOS, EOS; one emphasis multiplier per token (1.0 on BOS, EOS and padding).
/// </summary>
/// <param name="Tokens">77 token ids.</param>
/// <param name="Multipliers">77 weights as A1111 holds them (Python floats, i.e. doubles; encoding uses them as float32).</param>
public sealed record PromptChunk(int[] Tokens, double[] Multipliers);
