using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The input of a prepare-latents stage: the batch's settings (sizes resolved), its scheduler with the timesteps set,
/// one torch generator per image (drawn in diffusers' order), the latent shape and whether the UNet guides.
/// </summary>
public sealed record LatentsRequest(GenerationSettings Settings, IScheduler Scheduler, IReadOnlyList<IRandomGenerator> Generators,
    LatentShape Shape, bool Guided, GenerationObserver? Observer);
