namespace StableDiffusion.Pipeline;

/// <summary>
/// What one batch needs at its peak, from a small model of the pipeline rather than a run: the UNet's activations —
/// dominated by the attention scores at its highest-resolution attention, batch × heads × tokens², of which ONNX
/// Runtime keeps several score-sized tensors live (the scores, their scaling, the softmax, reshaped copies: see
/// <see cref="ScoreTensorsUnsliced"/>), fewer heads at once with attention slicing — plus its convolution activations
/// (the skip connections of every level, about <see cref="UNetActivationsPerChannel"/> first-level maps per channel);
/// the VAE decode, per image decoded at once, about <see cref="VaeActivationsPerChannel"/> full-resolution maps of its
/// top channels plus its mid-block attention; and the latents and output pixels.
/// </summary>
public sealed record MemoryEstimate(double AttentionScores, double UNetActivations, double VaeDecode, double LatentsAndPixels)
{
    /// <summary>
    /// Score-sized tensors live at once in the unsliced UNet on the CPU. Measured on the fixture (whose first attention has
    /// SD 1.x's shape, 8 heads over the latent tokens): the process peak above its loaded size is 11.8 GB at 512×512 (1 GiB
    /// score tensors: 11.5), 3.9 GB at 384×384 (12.2) and 3.3 GB at 256×256 × 4 images (12.8), whatever the arena strategy.
    /// </summary>
    public const int ScoreTensorsUnsliced = 12;

    /// <summary>
    /// Score-sized tensors live at once in the unsliced UNet on the CPU for the full-size SD 1.5 graph (diffusers'
    /// exporter): its process peak above its loaded size was 4.2 GB at 512×512, batch 1 with guidance (1 GiB score
    /// tensors: 3.9; bench/results/full-size-cpu.md). The live count depends on the graph (the fixture keeps three times
    /// as many), so the pre-flight refuses only what does not fit even at this count: a batch is never refused that a
    /// full-size model runs, and what cannot fit at all (e.g. 65536²) is refused before it allocates.
    /// </summary>
    public const int ScoreTensorsUnslicedLeast = 4;

    /// <summary>Score-sized tensors live at once with attention slicing (the fixture at 512×512, one head a slice: 0.7 GB in all).</summary>
    public const int ScoreTensorsSliced = 4;

    /// <summary>
    /// Score-sized tensors live at once in the unsliced UNet on CUDA. Not measured (no GPU where this was written): an
    /// assumption that keeps SD 1.x float16 at 512×512, 4 images (2 GiB score tensors), within a 24 GB card.
    /// </summary>
    public const int ScoreTensorsUnslicedCuda = 4;

    /// <summary>Full-resolution activation maps per first-level UNet channel live at the UNet's peak.</summary>
    public const int UNetActivationsPerChannel = 12;

    /// <summary>Full-resolution activation maps per top VAE channel live at the decoder's peak.</summary>
    public const int VaeActivationsPerChannel = 6;

    /// <summary>The peak in bytes: the larger of the UNet and VAE stages (they run one after the other) and what both keep.</summary>
    public double Peak => Math.Max(AttentionScores + UNetActivations, VaeDecode) + LatentsAndPixels;

    /// <summary>The estimate for <paramref name="images"/> images of <paramref name="width"/>×<paramref name="height"/>.</summary>
    /// <param name="profile">The model's sizes.</param>
    /// <param name="images">Images in the batch.</param>
    /// <param name="guided">Classifier-free guidance doubles the UNet batch.</param>
    /// <param name="unetBatchSize">The largest UNet call (null: the whole batch).</param>
    /// <param name="headsPerSlice">Attention heads computed at once with attention slicing (null: unsliced, all heads).</param>
    /// <param name="vaeSlicing">Whether the VAE decodes one image at a time.</param>
    /// <param name="bytesPerElement">4 for float32, 2 for float16.</param>
    /// <param name="vaeScaleFactor">Pixels per latent (8).</param>
    /// <param name="cuda">Whether the UNet runs on CUDA (<see cref="ScoreTensorsUnslicedCuda"/>) rather than the CPU.</param>
    /// <param name="least">The lower bound on the CPU (<see cref="ScoreTensorsUnslicedLeast"/> live score tensors) instead of the fixture's count.</param>
    public static MemoryEstimate For(MemoryProfile profile, int images, int width, int height, bool guided = true, int? unetBatchSize = null,
        int? headsPerSlice = null, bool vaeSlicing = false, int bytesPerElement = 4, int vaeScaleFactor = 8, bool cuda = false, bool least = false)
    {
        double pixels = (double)width * height;
        double tokens = pixels / ((double)vaeScaleFactor * vaeScaleFactor);
        double unetBatch = guided ? 2.0 * images : images;
        if (unetBatchSize is { } most) unetBatch = Math.Min(unetBatch, most);
        double attentionTokens = tokens / ((double)profile.AttentionLevelScale * profile.AttentionLevelScale);
        int heads = Math.Min(headsPerSlice ?? profile.AttentionHeads, profile.AttentionHeads);
        int copies = headsPerSlice is not null ? ScoreTensorsSliced : cuda ? ScoreTensorsUnslicedCuda : least ? ScoreTensorsUnslicedLeast : ScoreTensorsUnsliced;
        double scores = unetBatch * heads * attentionTokens * attentionTokens * bytesPerElement * copies;
        double activations = unetBatch * profile.UNetChannels * tokens * bytesPerElement * UNetActivationsPerChannel;
        double decodedAtOnce = vaeSlicing ? 1 : images;
        // The VAE's mid-block attention has one head over the latent tokens (its scores, their softmax).
        double vae = decodedAtOnce * (pixels * profile.VaeChannels * bytesPerElement * VaeActivationsPerChannel + tokens * tokens * bytesPerElement * 2);
        // Latents, noise, the UNet's output and guidance terms (float32 on our side); float pixels and the 8-bit image.
        double kept = images * (tokens * 4 * 4 * 8 + pixels * (3 * 4 + 4));
        return new MemoryEstimate(scores, activations, vae, kept);
    }

    /// <summary>Bytes as people read them: "1.2 GiB", "640 MiB".</summary>
    public static string Format(double bytes) => bytes switch
    {
        >= 1L << 50 => $"{bytes / (1L << 50):0.#} PiB",
        >= 1L << 40 => $"{bytes / (1L << 40):0.#} TiB",
        >= 1L << 30 => $"{bytes / (1L << 30):0.#} GiB",
        _ => $"{bytes / (1L << 20):0} MiB",
    };
}
