using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// The generation parameters read back from a PNG. Its properties are named like Invoke-SdGeneration's parameters,
/// so piping it there regenerates the image.
/// </summary>
public sealed class SdImageInfo
{
    internal SdImageInfo(string path, GenerationParameters parameters)
    {
        Path = path;
        Parameters = parameters;
        // SchedulerChoice's own ToString shows "Name (key=value, …)".
        Scheduler = parameters.Scheduler is null ? null
            : new SdSchedulerArgument(new SchedulerChoice(parameters.Scheduler, parameters.SchedulerOptions is { Count: > 0 } o ? o : null));
    }

    /// <summary>The PNG file.</summary>
    public string Path { get; }

    public GenerationParameters Parameters { get; }

    public string Prompt => Parameters.Prompt;
    public string? NegativePrompt => Parameters.NegativePrompt;
    public long Seed => Parameters.Seed;
    public int Steps => Parameters.Steps;
    public float GuidanceScale => Parameters.GuidanceScale;
    public float GuidanceRescale => Parameters.GuidanceRescale;
    public float Eta => Parameters.Eta;
    public int Width => Parameters.Width;
    public int Height => Parameters.Height;

    /// <summary>The scheduler with its options, ready to bind to -Scheduler.</summary>
    public SdSchedulerArgument? Scheduler { get; }

    public string? Model => Parameters.Model;
    public string? Precision => Parameters.Precision;
    public int Index => Parameters.Index;

    public override string ToString() => $"{System.IO.Path.GetFileName(Path)}: seed {Seed}, {Steps} steps, {Scheduler}: {Prompt}";
}
