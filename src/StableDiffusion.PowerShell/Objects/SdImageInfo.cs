using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// The generation parameters read back from a PNG. Its properties are named like Invoke-SdGeneration's parameters,
/// so piping it there regenerates the image.
/// </summary>
public sealed class SdImageInfo : SdGenerationRecord
{
    internal SdImageInfo(string path, GenerationParameters parameters) : base(parameters)
    {
        Path = path;
        // SchedulerChoice's own ToString shows "Name (key=value, …)".
        Scheduler = parameters.Scheduler is null ? null
            : new SdSchedulerArgument(new SchedulerChoice(parameters.Scheduler, parameters.SchedulerOptions is { Count: > 0 } o ? o : null));
        InitImage = Input(path, parameters.InitImage);
        Mask = Input(path, parameters.Mask);
    }

    /// <summary>
    /// A recorded input image as -InitImage/-Mask take it: the file of the recorded name in the PNG's folder when one is
    /// there, else the bare name (resolved against the current location when bound). Invoke-SdGeneration warns when
    /// the file's pixels are not the recorded ones.
    /// </summary>
    private static SdImageArgument? Input(string png, SourceImageRecord? recorded)
    {
        if (recorded is null) return null;
        string? path = recorded.FileName;
        if (path is not null && System.IO.Path.GetDirectoryName(png) is { } folder && File.Exists(System.IO.Path.Combine(folder, path)))
            path = System.IO.Path.Combine(folder, path);
        return new SdImageArgument(path, recorded, png);
    }

    /// <summary>The PNG file.</summary>
    public string Path { get; }

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

    /// <summary>The init image, ready to bind to -InitImage (see <see cref="Input"/>), or null for text-to-image.</summary>
    public SdImageArgument? InitImage { get; }

    /// <summary>The inpainting mask, ready to bind to -Mask, or null.</summary>
    public SdImageArgument? Mask { get; }

    /// <summary>The strength (A1111's "Denoising strength"), or null.</summary>
    public double? Strength => Parameters.Strength;

    /// <summary>The inpainting crop padding, or null.</summary>
    public int? MaskCropPadding => Parameters.MaskCropPadding;

    /// <summary>The LoRAs recorded (a render job's Loras: "name:weight (short sha256), …"), or null.</summary>
    public string? Loras => Parameters.Loras;

    public string? Model => Parameters.Model;
    public string? Precision => Parameters.Precision;
    public int Index => Parameters.Index;

    public override string ToString() => $"{System.IO.Path.GetFileName(Path)}: seed {Seed}, {Steps} steps, {Scheduler}: {Prompt}";
}
