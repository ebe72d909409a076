using StableDiffusion.Imaging;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// An image for -InitImage or -Mask: a path (resolved against the current location when the command runs, so that
/// errors are reported for the record that names it), a file, an SdImage or an ImageSharp image (their pixels, as they
/// are in memory). PowerShell converts any of them through the constructors; an empty string (an empty CSV cell) means
/// no image. Get-SdImageInfo's InitImage and Mask also carry what the PNG recorded, so a file whose pixels changed is
/// noticed.
/// </summary>
public sealed class SdImageArgument
{
    /// <summary>A path; empty or blank means no image.</summary>
    public SdImageArgument(string path) => Path = string.IsNullOrWhiteSpace(path) ? null : path;

    public SdImageArgument(FileInfo file) => Path = file.FullName;

    /// <summary>A generated image's pixels.</summary>
    public SdImageArgument(SdImage image) => Image = SourceImageReader.FromImage(image.Image);

    /// <summary>An ImageSharp image's pixels (as its pixel type holds them: L8 stays grey, Rgba32 keeps its alpha).</summary>
    public SdImageArgument(SixLabors.ImageSharp.Image image) => Image = SourceImageReader.FromImage(image);

    /// <summary>An SdImage's InitImage or Mask.</summary>
    public SdImageArgument(SourceImage image) => Image = image;

    /// <summary>A recorded input: the file to read (or null when the PNG names none) and what the PNG recorded.</summary>
    internal SdImageArgument(string? path, SourceImageRecord recorded, string recordedIn)
    {
        Path = path;
        Recorded = recorded;
        RecordedIn = recordedIn;
    }

    /// <summary>The path as given (resolved when the command runs), or null.</summary>
    public string? Path { get; }

    /// <summary>The pixels of an in-memory image, or null for a path.</summary>
    public SourceImage? Image { get; }

    /// <summary>What a PNG recorded of this input (from Get-SdImageInfo), or null.</summary>
    public SourceImageRecord? Recorded { get; }

    /// <summary>The PNG that recorded it.</summary>
    public string? RecordedIn { get; }

    /// <summary>Whether no image is given (an empty path).</summary>
    public bool IsEmpty => Path is null && Image is null;

    public override string ToString() => Path ?? Image?.ToString() ?? Recorded?.ToString() ?? "";
}
