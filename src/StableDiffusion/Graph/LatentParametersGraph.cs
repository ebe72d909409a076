namespace StableDiffusion.Graph;

/// <summary>The outcome of <see cref="LatentParametersRewriter.Rewrite"/>.</summary>
/// <param name="Model">
/// A graph whose output <c>latent_parameters</c> is the VAE's latent distribution parameters [batch, 2C, h, w]
/// (mean ‖ logvar on channels, logvar not clamped), or null when the graph was refused.
/// </param>
/// <param name="Rewritten">True when <paramref name="Model"/> is a rewritten copy (the input drew its sample inside).</param>
/// <param name="LatentChannels">C, when the graph says it (the quant_conv weight, a fixed output dim); null otherwise.</param>
/// <param name="Description">What was found and done, or why the graph was refused (a sentence for error messages).</param>
public sealed record LatentParametersGraph(OnnxGraphFile? Model, bool Rewritten, int? LatentChannels, string Description)
{
    /// <summary>False when no distribution parameters were found: the graph cannot reproduce seeded samples.</summary>
    public bool Found => Model is not null;
}
