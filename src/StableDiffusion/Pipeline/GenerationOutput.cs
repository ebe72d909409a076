namespace StableDiffusion.Pipeline;

/// <summary>What a generation returns (diffusers' <c>output_type</c>).</summary>
public enum GenerationOutput
{
    /// <summary>Decoded 8-bit images (and their float form).</summary>
    Image,

    /// <summary>The final latents, not decoded: to hand to another pipeline (SDXL base → refiner).</summary>
    Latent,
}
