namespace StableDiffusion.Pipeline;

// Memory pre-flight: a batch whose estimated peak exceeds what its device has is refused before any session runs,
// instead of allocating until the process is killed or ONNX Runtime fails many gigabytes later.
public sealed partial class StableDiffusionPipeline
{
    private MemoryProfile? _memoryProfile;
    private AvailableMemory? _availableMemory;

    /// <summary>The sizes of this model that set its memory peak (read once).</summary>
    public MemoryProfile MemoryProfile => _memoryProfile ??= MemoryProfile.Of(Model);

    /// <summary>
    /// The estimated peak of <paramref name="images"/> images with <paramref name="settings"/> (sizes resolved) as the
    /// pipeline is set now; <paramref name="least"/>: its lower bound (<see cref="MemoryEstimate.ScoreTensorsUnslicedLeast"/>).
    /// </summary>
    public MemoryEstimate EstimateMemory(int images, GenerationSettings settings, bool least = false)
    {
        int? headsPerSlice = AttentionSlicing?.Sliced is { Count: > 0 } sliced ? sliced.Max(s => s.HeadsPerSlice) : null;
        return MemoryEstimate.For(MemoryProfile, images, settings.Width ?? Model.DefaultImageSize, settings.Height ?? Model.DefaultImageSize,
            settings.UsesGuidance, UNetBatchSize, headsPerSlice, VaeSlicing, Precision == "float16" ? 2 : 4, Model.VaeScaleFactor,
            cuda: Provider is Models.ExecutionProvider.Cuda or Models.ExecutionProvider.TensorRT, least: least);
    }

    /// <exception cref="InsufficientMemoryForBatchException">The batch would need more than its device has available.</exception>
    private void CheckMemory(int images, GenerationSettings settings)
    {
        var available = _availableMemory ??= new AvailableMemory(Provider, DeviceId);
        if (available.Query() is not { } free) return;
        var estimate = EstimateMemory(images, settings, least: true); // refuse only what cannot fit at the lower bound
        if (estimate.Peak <= free) return;

        var remedies = new List<string> { "a smaller image (-Width, -Height)" };
        if (images > 1) remedies.Add("fewer images at once (-BatchSize 1, or New-SdPipeline -UNetBatchSize 1)");
        if (AttentionSlicing is null && estimate.AttentionScores > estimate.UNetActivations)
            remedies.Add("attention slicing (Enable-SdAttentionSlicing -SliceSize Max), which computes the attention scores a head at a time");
        if (!VaeSlicing && images > 1 && estimate.VaeDecode >= estimate.AttentionScores + estimate.UNetActivations)
            remedies.Add("VAE slicing (Enable-SdVaeSlicing), which decodes one image at a time");
        string what = $"{images} image{(images == 1 ? "" : "s")} of {settings.Width}×{settings.Height}";
        throw new InsufficientMemoryForBatchException(
            $"Not enough memory on {available.Device} for {what}: the batch needs about {MemoryEstimate.Format(estimate.Peak)} at its peak " +
            $"(UNet {MemoryEstimate.Format(estimate.AttentionScores + estimate.UNetActivations)}, of which attention scores {MemoryEstimate.Format(estimate.AttentionScores)}; " +
            $"VAE decode {MemoryEstimate.Format(estimate.VaeDecode)}) and {MemoryEstimate.Format(free)} is available. " +
            $"Nothing was run. Use {string.Join("; or ", remedies)}.", estimate, free, available.Device);
    }
}
