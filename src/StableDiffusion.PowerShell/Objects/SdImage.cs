using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>A generated image with everything needed to reproduce it.</summary>
public sealed class SdImage : SdGenerationRecord, IDisposable
{
    internal SdImage(GenerationResult result) : base(result.ToParameters()) => Result = result;

    /// <summary>The library result (pixels as floats, timings).</summary>
    public GenerationResult Result { get; }

    public string Prompt => Result.Request.Prompt;
    public string? NegativePrompt => Result.Request.NegativePrompt;
    public long Seed => Result.Request.Seed;
    public int Steps => Result.Settings.Steps;
    public float GuidanceScale => Result.Settings.GuidanceScale;
    public float GuidanceRescale => Result.Settings.GuidanceRescale;
    public float Eta => Result.Settings.Eta;
    public string Scheduler => Result.Scheduler;
    public IReadOnlyDictionary<string, object?> SchedulerOptions => Result.SchedulerOptions;
    public int Width => Result.Width;
    public int Height => Result.Height;
    public string Model => Result.Model;
    public string Precision => Result.Precision;

    /// <summary>The init image it started from (file name, size, pixels; its SHA-256 is recorded in the PNG), or null for text-to-image.</summary>
    public SourceImage? InitImage => Result.Settings.InitImage;

    /// <summary>The inpainting mask, or null.</summary>
    public SourceImage? Mask => Result.Settings.Mask;

    /// <summary>The strength in effect (the task's default when none was given), or null for text-to-image.</summary>
    public double? Strength => Result.Settings.EffectiveStrength;

    /// <summary>The inpainting crop padding, or null.</summary>
    public int? MaskCropPadding => Result.Settings.MaskCropPadding;

    /// <summary>Position of the image in the Invoke-SdGeneration call.</summary>
    public int Index => Result.Request.Index;

    /// <summary>Time spent on this image (its share of the batch).</summary>
    public TimeSpan Elapsed => Result.Elapsed;

    /// <summary>Denoising iterations per second of the batch.</summary>
    public double StepsPerSecond => Result.Timings.IterationsPerSecond;

    public GenerationTimings Timings => Result.Timings;

    /// <summary>The image (SixLabors.ImageSharp).</summary>
    public Image<Rgb24> Image => Result.Image;

    public void Dispose() => Result.Dispose();

    public override string ToString() => $"{Width}x{Height} seed {Seed}: {Prompt}";
}
