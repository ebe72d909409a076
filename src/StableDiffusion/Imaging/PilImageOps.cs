namespace StableDiffusion.Imaging;

/// <summary>
/// The Pillow 9.4 pixel operations diffusers' crop, fill and overlay are built from: <c>crop</c>, <c>paste</c>
/// (plain and through an L mask, libImaging/Paste.c) and <c>alpha_composite</c> (libImaging/AlphaComposite.c),
/// on interleaved 8-bit samples.
/// </summary>
internal static class PilImageOps
{
    /// <summary><c>image.crop((left, top, right, bottom))</c>: samples outside the image are 0, as PIL pads.</summary>
    public static byte[] Crop(ReadOnlySpan<byte> pixels, int width, int height, int channels, int left, int top, int right, int bottom)
    {
        int cropWidth = right - left, cropHeight = bottom - top;
        var result = new byte[cropWidth * cropHeight * channels];
        int x0 = Math.Max(left, 0), x1 = Math.Min(right, width);
        if (x1 <= x0)
            return result;
        for (int y = Math.Max(top, 0); y < Math.Min(bottom, height); y++)
            pixels.Slice((y * width + x0) * channels, (x1 - x0) * channels)
                .CopyTo(result.AsSpan(((y - top) * cropWidth + x0 - left) * channels));
        return result;
    }

    /// <summary>A crop of a whole image, in its mode.</summary>
    public static SourceImage Crop(SourceImage image, CropRegion region)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (region.Width < 1 || region.Height < 1)
            throw new ArgumentException($"The crop region {region} is empty.", nameof(region));
        byte[] pixels = Crop(image.Pixels, image.Width, image.Height, image.Channels, region.Left, region.Top, region.Right, region.Bottom);
        return new SourceImage(region.Width, region.Height, image.Mode, pixels, image.FileName);
    }

    /// <summary>
    /// <c>destination.paste(source, (x, y))</c>: <paramref name="source"/> is first converted to the destination's mode
    /// (what PIL's paste does, and for RGBA onto RGB what its 4-byte copy amounts to: alpha dropped), then copied,
    /// clipped to the destination.
    /// </summary>
    public static void Paste(Span<byte> destination, int width, int height, PixelMode mode, SourceImage source, int x, int y)
    {
        SourceImage converted = PilConvert.Convert(source, mode);
        int channels = (int)mode;
        int x0 = Math.Max(x, 0), x1 = Math.Min(x + converted.Width, width);
        if (x1 <= x0)
            return;
        for (int row = Math.Max(y, 0); row < Math.Min(y + converted.Height, height); row++)
            converted.Pixels.AsSpan(((row - y) * converted.Width + x0 - x) * channels, (x1 - x0) * channels)
                .CopyTo(destination.Slice((row * width + x0) * channels));
    }

    /// <summary>
    /// Paste.c <c>paste_mask_L</c> for images of the same size: every sample becomes
    /// <c>DIV255(out·(255 − m) + in·m)</c>, alpha included.
    /// </summary>
    public static void PasteThroughMask(Span<byte> destination, ReadOnlySpan<byte> source, ReadOnlySpan<byte> maskL, int channels)
    {
        for (int i = 0, p = 0; p < maskL.Length; p++)
        {
            int m = maskL[p];
            for (int c = 0; c < channels; c++, i++)
                destination[i] = PilConvert.Div255(destination[i] * (255 - m) + source[i] * m);
        }
    }

    /// <summary>
    /// <c>Image.alpha_composite(destination, source)</c> of two RGBA buffers of one size, written into
    /// <paramref name="destination"/> (AlphaComposite.c, 7 extra bits of precision, rounded divisions).
    /// </summary>
    public static void AlphaComposite(Span<byte> destination, ReadOnlySpan<byte> source)
    {
        const int precisionBits = 7;
        for (int i = 0; i < destination.Length; i += 4)
        {
            uint sourceAlpha = source[i + 3];
            if (sourceAlpha == 0)
                continue;
            uint blend = destination[i + 3] * (255 - sourceAlpha);
            uint outAlpha255 = sourceAlpha * 255 + blend;
            uint coefficient1 = sourceAlpha * 255 * 255 * (1 << precisionBits) / outAlpha255;
            uint coefficient2 = 255 * (1 << precisionBits) - coefficient1;
            for (int c = 0; c < 3; c++)
            {
                uint value = source[i + c] * coefficient1 + destination[i + c] * coefficient2 + (0x80 << precisionBits);
                destination[i + c] = (byte)(ShiftForDiv255(value) >> precisionBits);
            }
            destination[i + 3] = (byte)ShiftForDiv255(outAlpha255 + 0x80);
        }
    }

    private static uint ShiftForDiv255(uint value) => ((value >> 8) + value) >> 8;
}
