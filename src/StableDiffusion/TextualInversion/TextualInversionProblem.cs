namespace StableDiffusion.TextualInversion;

/// <summary>What kind of problem a <see cref="TextualInversionException"/> reports (the cmdlets' error category).</summary>
public enum TextualInversionProblem
{
    /// <summary>The embedding file does not exist.</summary>
    FileNotFound,

    /// <summary>The embedding file's content cannot be used (layout, rank, dimension, NaN/Inf).</summary>
    InvalidFile,

    /// <summary>The token cannot be added: empty, already in the vocabulary, or already added.</summary>
    TokenConflict,

    /// <summary>The model cannot take this embedding (SDXL without both encoders' vectors, no token-embedding table).</summary>
    UnsupportedModel,
}
