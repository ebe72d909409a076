using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// One image's final latents, not decoded (Invoke-SdGeneration -OutputType Latent): the SDXL base's hand-off to the refiner.
/// Its properties are named like Invoke-SdGeneration's parameters, so piping it there (with -Pipeline $refiner
/// -DenoisingStart 0.8) continues the same image: the prompts, seed, steps and scheduler bind by name, the latents bind
/// to -InitLatents.
/// </summary>
public sealed class SdLatents
{
    internal SdLatents(LatentResult result)
    {
        Result = result;
        Scheduler = new SdSchedulerArgument(new SchedulerChoice(result.Scheduler, result.SchedulerOptions is { Count: > 0 } o ? o : null));
    }

    /// <summary>The library result (settings as applied, timings).</summary>
    public LatentResult Result { get; }

    public string Prompt => Result.Request.Prompt;
    public string? Prompt2 => Result.Request.Prompt2;
    public string? NegativePrompt => Result.Request.NegativePrompt;
    public string? NegativePrompt2 => Result.Request.NegativePrompt2;
    public long Seed => Result.Request.Seed;
    public int Steps => Result.Settings.Steps;

    /// <summary>The scheduler with its options, ready to bind to -Scheduler (the refiner continues the same schedule).</summary>
    public SdSchedulerArgument Scheduler { get; }

    /// <summary>The model that made the latents.</summary>
    public string Model => Result.Model;

    /// <summary>The image size the latents decode to.</summary>
    public int Width => Result.Settings.Width!.Value; // the pipeline resolves sizes before it runs
    public int Height => Result.Settings.Height!.Value;

    /// <summary>
    /// Where the schedule stopped (diffusers' denoising_end), or null. Invoke-SdGeneration does not apply a DenoisingEnd that
    /// arrives with the latents to the next stage: give that stage -DenoisingStart.
    /// </summary>
    public double? DenoisingEnd => Result.Settings.DenoisingEnd;

    /// <summary>The latents [4, h, w] as the loop left them (not divided by the VAE scaling factor), ready to bind to -InitLatents.</summary>
    public LatentImage InitLatents => Result.Latents;

    /// <summary>Position of the image in the Invoke-SdGeneration call.</summary>
    public int Index => Result.Request.Index;

    public TimeSpan Elapsed => Result.Elapsed;

    public override string ToString() => $"{InitLatents} seed {Seed}: {Prompt}";
}
