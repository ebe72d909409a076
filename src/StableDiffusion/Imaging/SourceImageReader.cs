using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Imaging;

/// <summary>
/// Reads init images and masks (PNG, JPEG, BMP, GIF, WebP, TIFF, TGA: whatever ImageSharp decodes) into a
/// <see cref="SourceImage"/> in the mode PIL reports after <c>Image.open</c>, because diffusers' processors depend on
/// it (an RGB mask is resized in RGB before its conversion to L; an RGBA image is resized premultiplied).
/// </summary>
/// <remarks>
/// How each PNG colour type maps (ImageSharp 2.1 decodes grey to L8/L16, grey+alpha to La16/La32, RGB to
/// Rgb24/Rgb48, RGBA and palettes to Rgba32/Rgba64; the mode is chosen from the PNG header, not the pixel type):
/// <list type="bullet">
/// <item>grey → <see cref="PixelMode.L"/>; RGB → <see cref="PixelMode.Rgb"/>; RGBA → <see cref="PixelMode.Rgba"/>.</item>
/// <item>grey+alpha (PIL "LA") → <see cref="PixelMode.Rgba"/> with the grey replicated: PIL's convert("RGB") and
/// convert("L") of LA give exactly those numbers, and its resize premultiplies LA as it does RGBA.</item>
/// <item>palette (PIL "P") → <see cref="PixelMode.Rgba"/> when its tRNS chunk makes some pixel translucent, else
/// <see cref="PixelMode.Rgb"/> (ImageSharp 2.1 does not report palette tRNS in its metadata, so the pixels decide):
/// PIL's convert("RGB")/("L") read the palette colours and ignore transparency, while apply_overlay's
/// convert("RGBA") uses it, so each keeps exactly what a later conversion reads. (PIL resizes a P image with
/// NEAREST; a paletted mask that needs resizing is resized here with Lanczos, as if converted first.)</item>
/// <item>16-bit samples are reduced as PIL 9.4 does: RGB/RGBA/grey+alpha keep the high byte (PIL's "RGB;16B",
/// "RGBA;16B", "LA;16B" unpackers), 16-bit grey opens as mode "I" whose convert("L"/"RGB") clips to 255
/// (values ≥ 255 become white, not scaled).</item>
/// <item>a tRNS colour key on grey/RGB is dropped (PIL keeps it only in <c>info</c>, which convert("RGB")/("L")
/// ignore).</item>
/// </list>
/// Other formats: grey JPEG/L8/L16 → L; otherwise Rgba when some pixel is not opaque, else Rgb (GIF and BMP decode
/// to Rgba32 even when opaque, and ImageSharp 2.1 does not report whether a pixel type has alpha).
/// </remarks>
public static class SourceImageReader
{
    /// <summary>
    /// PIL's <c>Image.MAX_IMAGE_PIXELS</c> (<c>1024 * 1024 * 1024 // 4 // 3</c>): larger images are refused before
    /// decoding. PIL itself only warns up to twice this; refusing at the limit is deliberate (decompression bombs).
    /// </summary>
    public const long MaxImagePixels = 89_478_485;

    /// <summary>Reads an image file, checking its declared size against <see cref="MaxImagePixels"/> before decoding.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image, cannot be decoded, or is too large.</exception>
    public static SourceImage Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"The image file '{fullPath}' does not exist.", fullPath);

        IImageInfo? info;
        try
        {
            info = Image.Identify(fullPath);
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw Unreadable(fullPath, e);
        }
        if (info is null)
            throw NotAnImage(fullPath, null);
        CheckPixelCount(info.Width, info.Height, fullPath);

        try
        {
            using Image image = Image.Load(fullPath);
            return FromImage(image, fullPath);
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw Unreadable(fullPath, e);
        }
    }

    /// <summary>An already decoded image in the mode PIL would report for it (see the type's remarks).</summary>
    /// <exception cref="InvalidDataException">The image has more than <see cref="MaxImagePixels"/> pixels.</exception>
    public static SourceImage FromImage(Image image, string? fileName = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckPixelCount(image.Width, image.Height, fileName ?? "the image");

        PngMetadata png = image.Metadata.GetPngMetadata();
        Rgba32[] rgba = ToRgba32(image, ClipsSixteenBitGrey(image, png));
        PixelMode mode = ModeOf(image, png, rgba);
        return new SourceImage(image.Width, image.Height, mode, Pack(rgba, mode), fileName);
    }

    private static PixelMode ModeOf(Image image, PngMetadata png, ReadOnlySpan<Rgba32> pixels) => png.ColorType switch
    {
        PngColorType.Grayscale => PixelMode.L,
        PngColorType.Rgb => PixelMode.Rgb,
        PngColorType.Palette => HasTranslucentPixel(pixels) ? PixelMode.Rgba : PixelMode.Rgb,
        PngColorType.GrayscaleWithAlpha or PngColorType.RgbWithAlpha => PixelMode.Rgba,
        _ when image is Image<L8> or Image<L16> || image.Metadata.GetJpegMetadata().ColorType == JpegColorType.Luminance
            => PixelMode.L,
        _ when HasTranslucentPixel(pixels) => PixelMode.Rgba,
        _ => PixelMode.Rgb,
    };

    private static bool HasTranslucentPixel(ReadOnlySpan<Rgba32> pixels)
    {
        foreach (Rgba32 p in pixels)
            if (p.A != 255)
                return true;
        return false;
    }

    /// <summary>16-bit grey opens in PIL as mode "I", whose 8-bit conversions clip instead of keeping the high byte.</summary>
    private static bool ClipsSixteenBitGrey(Image image, PngMetadata png) =>
        image is Image<L16> || png.ColorType == PngColorType.Grayscale && png.BitDepth == PngBitDepth.Bit16;

    /// <summary>All samples as 8-bit RGBA, 16-bit samples reduced as PIL reduces them (see the type's remarks).</summary>
    private static Rgba32[] ToRgba32(Image image, bool clipSixteenBitGrey)
    {
        var result = new Rgba32[image.Width * image.Height];
        if (image is not (Image<L16> or Image<La32> or Image<Rgb48> or Image<Rgba64>))
        {
            using Image<Rgba32> rgba = image.CloneAs<Rgba32>();
            rgba.CopyPixelDataTo(result);
            return result;
        }

        var wide = new Rgba64[result.Length];
        using (Image<Rgba64> rgba64 = image.CloneAs<Rgba64>())
            rgba64.CopyPixelDataTo(wide);
        for (int i = 0; i < wide.Length; i++)
        {
            Rgba64 p = wide[i];
            result[i] = clipSixteenBitGrey
                ? new Rgba32(Clip(p.R), Clip(p.G), Clip(p.B), 255)
                : new Rgba32((byte)(p.R >> 8), (byte)(p.G >> 8), (byte)(p.B >> 8), (byte)(p.A >> 8));
        }
        return result;
    }

    private static byte Clip(ushort value) => (byte)Math.Min(value, (ushort)255);

    /// <summary>Interleaved samples of <paramref name="mode"/>: L takes the red sample (grey sources replicate it).</summary>
    private static byte[] Pack(Rgba32[] rgba, PixelMode mode)
    {
        int channels = (int)mode;
        var pixels = new byte[rgba.Length * channels];
        for (int i = 0, o = 0; i < rgba.Length; i++, o += channels)
        {
            Rgba32 p = rgba[i];
            pixels[o] = p.R;
            if (channels == 1)
                continue;
            pixels[o + 1] = p.G;
            pixels[o + 2] = p.B;
            if (channels == 4)
                pixels[o + 3] = p.A;
        }
        return pixels;
    }

    private static void CheckPixelCount(int width, int height, string source)
    {
        long pixels = (long)width * height;
        if (pixels > MaxImagePixels)
            throw new InvalidDataException(
                $"'{source}' is too large: {width}×{height} = {pixels:N0} pixels exceeds the limit of {MaxImagePixels:N0} " +
                "(PIL's MAX_IMAGE_PIXELS, a guard against decompression bombs).");
    }

    private static bool IsDecodeFailure(Exception e) =>
        e is ImageFormatException or InvalidDataException or EndOfStreamException or NotSupportedException
            or SixLabors.ImageSharp.Memory.InvalidMemoryOperationException;

    private static InvalidDataException Unreadable(string path, Exception e) => e is UnknownImageFormatException
        ? NotAnImage(path, e)
        : new InvalidDataException($"'{path}' is not a readable image: {e.Message}", e);

    private static InvalidDataException NotAnImage(string path, Exception? inner) =>
        new($"'{path}' is not an image in a format that can be read (PNG, JPEG, BMP, GIF, WebP, TIFF, TGA).", inner);
}
