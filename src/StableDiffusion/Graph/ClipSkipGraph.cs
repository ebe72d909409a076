namespace StableDiffusion.Graph;

/// <summary>The outcome of <see cref="ClipSkipRewriter.Rewrite"/>.</summary>
/// <param name="Model">
/// A copy of the text encoder that also outputs <paramref name="OutputName"/>, or null when the graph was refused.
/// </param>
/// <param name="OutputName">The added output: final_layer_norm of the chosen layer's output, shaped and typed as last_hidden_state.</param>
/// <param name="HiddenState">The encoder value the copied final layer norm reads (the output of layer N − k).</param>
/// <param name="Layers">N, the encoder's layer count (0 when the graph was refused).</param>
/// <param name="Description">What was found and done, or why the graph was refused (a sentence for error messages).</param>
public sealed record ClipSkipGraph(OnnxGraphFile? Model, string? OutputName, string? HiddenState, int Layers, string Description)
{
    /// <summary>False when the encoder's structure was not recognized: the graph cannot give the skipped layer.</summary>
    public bool Found => Model is not null;
}
