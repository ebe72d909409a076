namespace StableDiffusion.Pipeline;

/// <summary>
/// One image's latents [Channels, Height, Width] as a generation left them (diffusers' <c>output_type="latent"</c>: not
/// divided by the VAE scaling factor), to hand to another pipeline (SDXL base → refiner with DenoisingStart).
/// </summary>
public sealed record LatentImage(float[] Data, int Channels, int Height, int Width)
{
    /// <summary>The model the latents came from (the refiner accepts the base's: both use the SDXL VAE space).</summary>
    public string? Model { get; init; }

    public override string ToString() => $"latents {Channels}×{Height}×{Width}{(Model is null ? "" : $" of {Model}")}";
}
