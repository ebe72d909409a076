namespace StableDiffusion.Prompts;

/// <summary>A1111's "Emphasis mode" setting (<c>modules/sd_emphasis.py</c>).</summary>
public enum EmphasisMode
{
    /// <summary>"None": the prompt is not parsed for emphasis at all; brackets and weights are literal text.</summary>
    None,

    /// <summary>"Ignore": the prompt is parsed (brackets removed) but the weights are not applied.</summary>
    Ignore,

    /// <summary>"Original" (A1111's default): weights applied, then the chunk's mean over the batch restored.</summary>
    Original,

    /// <summary>"No norm": weights applied without restoring the mean.</summary>
    NoNorm,
}
