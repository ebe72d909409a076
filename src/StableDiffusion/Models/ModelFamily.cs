namespace StableDiffusion.Models;

/// <summary>The architecture family of a model folder: which prompt stage and extra UNet inputs a generation uses.</summary>
public enum ModelFamily
{
    /// <summary>Stable Diffusion 1.x/2.x: one CLIP text encoder, the UNet takes sample, timestep and text embeddings.</summary>
    StableDiffusion,

    /// <summary>Stable Diffusion XL (base, Turbo, refiner): two text encoders, pooled embeddings and time ids for the UNet.</summary>
    StableDiffusionXL,
}
