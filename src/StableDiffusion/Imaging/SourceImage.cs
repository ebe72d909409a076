using System.Security.Cryptography;

namespace StableDiffusion.Imaging;

/// <summary>PIL's image modes that image-to-image and inpainting read: 8-bit grey, RGB and RGBA.</summary>
public enum PixelMode
{
    L = 1,
    Rgb = 3,
    Rgba = 4,
}

/// <summary>
/// An input image (init image or mask) as 8-bit interleaved pixels in the mode it was stored in, as PIL holds it after
/// <c>Image.open</c>: diffusers' processors depend on the mode (an RGB mask is resized in RGB, then converted to L).
/// Two sources are equal when their size, mode and pixels are (<see cref="Sha256"/>), whatever their file names.
/// </summary>
public sealed class SourceImage : IEquatable<SourceImage>
{
    public SourceImage(int width, int height, PixelMode mode, byte[] pixels, string? fileName = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * (int)mode)
            throw new ArgumentException($"{pixels.Length} bytes do not hold a {width}×{height} {mode} image.", nameof(pixels));
        Width = width;
        Height = height;
        Mode = mode;
        Pixels = pixels;
        FileName = fileName;
        Sha256 = Convert.ToHexString(SHA256.HashData(pixels)).ToLowerInvariant();
    }

    public int Width { get; }
    public int Height { get; }
    public PixelMode Mode { get; }
    public int Channels => (int)Mode;

    /// <summary>Row-major interleaved 8-bit samples (do not modify: <see cref="Sha256"/> is computed once).</summary>
    public byte[] Pixels { get; }

    /// <summary>The file it was read from (name only is recorded in metadata), or null for an in-memory image.</summary>
    public string? FileName { get; }

    /// <summary>SHA-256 (lower-case hex) of <see cref="Pixels"/>: what metadata records to identify the input.</summary>
    public string Sha256 { get; }

    public bool Equals(SourceImage? other) =>
        other is not null && (ReferenceEquals(this, other)
            || other.Width == Width && other.Height == Height && other.Mode == Mode && other.Sha256 == Sha256);

    public override bool Equals(object? obj) => Equals(obj as SourceImage);
    public override int GetHashCode() => HashCode.Combine(Width, Height, Mode, Sha256);
    public override string ToString() => $"{FileName ?? "image"} ({Width}×{Height} {Mode})";
}
