using StableDiffusion.TextualInversion;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>One textual-inversion embedding of a pipeline, as Get-SdEmbedding lists it.</summary>
public sealed class SdEmbedding
{
    internal SdEmbedding(TextualInversionEmbedding embedding, int firstId)
    {
        Token = embedding.Token;
        Tokens = embedding.Tokens.ToArray();
        TokenIds = Enumerable.Range(firstId, embedding.VectorCount).ToArray();
        Vectors = embedding.VectorCount;
        Dimension = embedding.Dimension;
        Format = embedding.Format;
        Path = embedding.Path;
    }

    /// <summary>The word a prompt uses.</summary>
    public string Token { get; }

    /// <summary>The tokens added for it: Token, Token_1, … (one per vector).</summary>
    public string[] Tokens { get; }

    /// <summary>The tokenizer ids of <see cref="Tokens"/>.</summary>
    public int[] TokenIds { get; }

    /// <summary>How many vectors (tokens) the embedding has.</summary>
    public int Vectors { get; }

    /// <summary>Width of each vector (the text encoder's).</summary>
    public int Dimension { get; }

    /// <summary>The file's layout: emb_params, string_to_param or diffusers.</summary>
    public string Format { get; }

    /// <summary>The file it was loaded from.</summary>
    public string Path { get; }
}
