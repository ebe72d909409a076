namespace StableDiffusion.Prompts;

/// <summary>A prompt as A1111's <c>tokenize_line</c> returns it: its chunks and the token count A1111 displays.</summary>
/// <param name="Chunks">At least one chunk.</param>
/// <param name="TokenCount">75 per chunk before the last (also when a comma moved tokens on) plus the last chunk's tokens.</param>
public sealed record ChunkedPrompt(IReadOnlyList<PromptChunk> Chunks, int TokenCount);
