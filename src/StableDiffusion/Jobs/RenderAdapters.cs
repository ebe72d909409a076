namespace StableDiffusion.Jobs;

/// <summary>The LoRAs and embeddings of a job, as they count in each image's identity and metadata.</summary>
public sealed record RenderAdapters(IReadOnlyList<JobLora> Loras, IReadOnlyList<JobEmbedding> Embeddings)
{
    public static readonly RenderAdapters None = new([], []);

    /// <summary>The image's "Loras" record (<c>name:weight (hash), …</c>), or null without LoRAs.</summary>
    public string? LorasText => Loras.Count == 0 ? null : string.Join(", ", Loras.Select(l => l.Describe()));
}
