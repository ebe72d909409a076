namespace StableDiffusion.Jobs;

/// <summary>A textual-inversion file a job loads (EmbeddingPath), with its token (null: the file's own) and the SHA-256 of its bytes.</summary>
public sealed record JobEmbedding(string Path, string? Token, string Sha256);
