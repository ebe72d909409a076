namespace StableDiffusion.Schedulers;

/// <summary>
/// A scheduler that takes diffusers' pipeline argument <c>eta</c> in its step (DDIM). The pipeline sets it before
/// the loop; schedulers without it ignore eta, as diffusers does.
/// </summary>
public interface IEtaScheduler : IScheduler
{
    /// <summary>η: 0 gives deterministic DDIM, 1 the DDPM-like variance.</summary>
    float Eta { get; set; }
}
