namespace StableDiffusion.Imaging;

/// <summary>
/// Pillow 9.4's <c>Image.convert</c> between the modes of <see cref="SourceImage"/> (libImaging/Convert.c), and the
/// premultiplication its resize and paste use for RGBA ("RGBa").
/// </summary>
public static class PilConvert
{
    /// <summary>
    /// <c>image.convert(mode)</c>: to L with ITU-R 601-2 luma in fixed point,
    /// <c>(19595 R + 38470 G + 7471 B + 0x8000) >> 16</c> (alpha ignored); RGBA → RGB drops alpha; L → RGB replicates;
    /// to RGBA adds an opaque alpha. The same mode returns <paramref name="image"/> itself (it is immutable).
    /// </summary>
    public static SourceImage Convert(SourceImage image, PixelMode mode)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.Mode == mode ? image : new SourceImage(image.Width, image.Height, mode, ConvertedPixels(image, mode), image.FileName);
    }

    /// <summary>The pixels of <c>image.convert(mode)</c> in a new buffer the caller may modify (a copy when the mode is the same).</summary>
    internal static byte[] ConvertedPixels(SourceImage image, PixelMode mode)
    {
        var pixels = new byte[image.Width * image.Height * (int)mode];
        Convert(image.Pixels, image.Mode, pixels, mode);
        return pixels;
    }

    /// <summary>Converts interleaved pixels of one mode into a buffer of another (same pixel count).</summary>
    internal static void Convert(ReadOnlySpan<byte> source, PixelMode sourceMode, Span<byte> destination, PixelMode destinationMode)
    {
        int from = (int)sourceMode, to = (int)destinationMode;
        int count = source.Length / from;
        if (sourceMode == destinationMode)
        {
            source.CopyTo(destination);
            return;
        }
        for (int i = 0, s = 0, d = 0; i < count; i++, s += from, d += to)
        {
            if (to == 1)
            {
                destination[d] = Luma(source[s], source[s + 1], source[s + 2]);
                continue;
            }
            byte r = source[s];
            destination[d] = r;
            destination[d + 1] = from == 1 ? r : source[s + 1];
            destination[d + 2] = from == 1 ? r : source[s + 2];
            if (to == 4)
                destination[d + 3] = from == 4 ? source[s + 3] : (byte)255;
        }
    }

    /// <summary>PIL's L of an RGB triple (Convert.c <c>L24</c>).</summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    /// <summary>RGBA → "RGBa" in place: each colour times alpha, <c>MULDIV255</c> (rounded <c>c·a/255</c>).</summary>
    internal static void Premultiply(Span<byte> rgba)
    {
        for (int i = 0; i < rgba.Length; i += 4)
        {
            int alpha = rgba[i + 3];
            rgba[i] = MulDiv255(rgba[i], alpha);
            rgba[i + 1] = MulDiv255(rgba[i + 1], alpha);
            rgba[i + 2] = MulDiv255(rgba[i + 2], alpha);
        }
    }

    /// <summary>
    /// "RGBa" → RGBA in place: <c>min(255, 255·c / a)</c>, the colours kept as they are where alpha is 0 or 255
    /// (Convert.c <c>rgba2rgbA</c>).
    /// </summary>
    internal static void Unpremultiply(Span<byte> rgba)
    {
        for (int i = 0; i < rgba.Length; i += 4)
        {
            int alpha = rgba[i + 3];
            if (alpha is 0 or 255)
                continue;
            rgba[i] = (byte)Math.Min(255 * rgba[i] / alpha, 255);
            rgba[i + 1] = (byte)Math.Min(255 * rgba[i + 1] / alpha, 255);
            rgba[i + 2] = (byte)Math.Min(255 * rgba[i + 2] / alpha, 255);
        }
    }

    /// <summary>libImaging's <c>MULDIV255</c>: <c>a·b/255</c> rounded, without a division.</summary>
    internal static byte MulDiv255(int a, int b) => Div255(a * b);

    /// <summary>libImaging's <c>DIV255</c>: <c>v/255</c> rounded, for v up to 255·255.</summary>
    internal static byte Div255(int value)
    {
        int t = value + 128;
        return (byte)(((t >> 8) + t) >> 8);
    }
}
