namespace StableDiffusion.Schedulers;

/// <summary>
/// A scheduler whose <c>step()</c> takes diffusers' <c>eta</c> argument (DDIM): 0 = deterministic, 1 = DDPM-like noise.
/// Pipelines set it from their own <c>eta</c> parameter without knowing the scheduler class.
/// </summary>
public interface IEtaScheduler
{
    double Eta { get; set; }
}
