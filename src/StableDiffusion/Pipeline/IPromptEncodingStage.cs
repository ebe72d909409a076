namespace StableDiffusion.Pipeline;

/// <summary>Stage 1: the batch's prompts (and negative prompts when guiding) → the embeddings the denoiser consumes.</summary>
public interface IPromptEncodingStage
{
    /// <summary>Time spent tokenizing in the last <see cref="Encode"/>.</summary>
    TimeSpan TokenizeTime { get; }

    /// <summary>Encodes one row per image, plus one negative row per image first when <paramref name="guided"/>.</summary>
    PromptEmbeddings Encode(IReadOnlyList<ImageRequest> batch, bool guided, CancellationToken cancellation);
}
