using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Imaging;

/// <summary>
/// Turns the VAE decoder output into images exactly as diffusers does: the "np" output
/// (<c>(x / 2 + 0.5).clamp(0, 1)</c>, NHWC float32) and the 8-bit pixels of <c>numpy_to_pil</c>
/// (<c>(image * 255).round().astype("uint8")</c>, float32 multiply, round half to even).
/// </summary>
public static class ImageConversion
{
    /// <summary>RGB: the VAE decodes three channels.</summary>
    public const int Channels = 3;

    /// <summary>
    /// Maps a decoded value from ≈[-1, 1] to [0, 1]. <c>x * 0.5</c> is exact, so this equals both diffusers 0.12
    /// (<c>x / 2 + 0.5</c>) and 0.35 (<c>x * 0.5 + 0.5</c>); NaN stays NaN as in <c>torch.clamp</c>.
    /// </summary>
    public static float ToUnit(float decoded) => Math.Clamp(decoded * 0.5f + 0.5f, 0f, 1f);

    /// <summary>
    /// numpy_to_pil for one value: <c>round(v * 255)</c> in float32 with ties to even (NumPy's rounding).
    /// Values outside [0, 1] (never produced after <see cref="ToUnit"/>) are clamped and NaN becomes 0, where
    /// NumPy's cast would be undefined.
    /// </summary>
    public static byte ToByte(float unit)
    {
        float scaled = MathF.Round(unit * 255f, MidpointRounding.ToEven);
        if (!(scaled > 0f))
            return 0;
        return scaled >= 255f ? (byte)255 : (byte)scaled;
    }

    /// <summary>
    /// The diffusers "np" image: NCHW decoder output <c>[batch, 3, height, width]</c> to NHWC
    /// <c>[batch, height, width, 3]</c> in [0, 1].
    /// </summary>
    /// <param name="nchw">The decoder output, exactly <c>batch * 3 * height * width</c> values.</param>
    /// <param name="batch">Number of images.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="nhwcDestination">At least as many values as <paramref name="nchw"/>.</param>
    public static void ToUnitRange(ReadOnlySpan<float> nchw, int batch, int height, int width, Span<float> nhwcDestination)
    {
        int count = ElementCount(batch, height, width);
        if (nchw.Length != count)
            throw new ArgumentException(
                $"The decoder output has {nchw.Length} values but [{batch}, {Channels}, {height}, {width}] needs {count}.",
                nameof(nchw));
        if (nhwcDestination.Length < count)
            throw new ArgumentException(
                $"The destination holds {nhwcDestination.Length} values but the image needs {count}.",
                nameof(nhwcDestination));

        int plane = height * width;
        for (int b = 0; b < batch; b++)
        {
            Span<float> image = nhwcDestination.Slice(b * plane * Channels, plane * Channels);
            for (int c = 0; c < Channels; c++)
            {
                ReadOnlySpan<float> source = nchw.Slice((b * Channels + c) * plane, plane);
                for (int i = 0, j = c; i < source.Length; i++, j += Channels)
                    image[j] = ToUnit(source[i]);
            }
        }
    }

    /// <summary>Allocating form of <see cref="ToUnitRange(ReadOnlySpan{float}, int, int, int, Span{float})"/>.</summary>
    public static float[] ToUnitRange(ReadOnlySpan<float> nchw, int batch, int height, int width)
    {
        var result = new float[ElementCount(batch, height, width)];
        ToUnitRange(nchw, batch, height, width, result);
        return result;
    }

    /// <summary>numpy_to_pil on a whole span: <see cref="ToByte"/> per value.</summary>
    /// <param name="unit">Values in [0, 1].</param>
    /// <param name="destination">At least as long as <paramref name="unit"/>.</param>
    public static void ToBytes(ReadOnlySpan<float> unit, Span<byte> destination)
    {
        if (destination.Length < unit.Length)
            throw new ArgumentException(
                $"The destination holds {destination.Length} bytes but {unit.Length} are needed.", nameof(destination));
        for (int i = 0; i < unit.Length; i++)
            destination[i] = ToByte(unit[i]);
    }

    /// <summary>
    /// Image <paramref name="index"/> of an NHWC [0, 1] batch as an 8-bit RGB image with the pixels of
    /// diffusers' <c>numpy_to_pil</c>. The caller disposes the image.
    /// </summary>
    public static Image<Rgb24> ToImage(ReadOnlySpan<float> nhwcUnit, int index, int height, int width)
    {
        int imageSize = ElementCount(1, height, width);
        int available = nhwcUnit.Length / imageSize;
        if (nhwcUnit.Length % imageSize != 0)
            throw new ArgumentException(
                $"{nhwcUnit.Length} values are not a whole number of {height}x{width} RGB images.", nameof(nhwcUnit));
        if ((uint)index >= (uint)available)
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"The batch holds {available} image(s); the index must be between 0 and {available - 1}.");

        ReadOnlySpan<float> source = nhwcUnit.Slice(index * imageSize, imageSize);
        var image = new Image<Rgb24>(width, height);
        int rowSize = width * Channels;
        for (int y = 0; y < height; y++)
        {
            Span<Rgb24> row = image.DangerousGetPixelRowMemory(y).Span;
            ToBytes(source.Slice(y * rowSize, rowSize), System.Runtime.InteropServices.MemoryMarshal.AsBytes(row));
        }
        return image;
    }

    /// <summary>All images of an NHWC [0, 1] batch (see <see cref="ToImage"/>).</summary>
    public static Image<Rgb24>[] ToImages(ReadOnlySpan<float> nhwcUnit, int batch, int height, int width)
    {
        int count = ElementCount(batch, height, width);
        if (nhwcUnit.Length != count)
            throw new ArgumentException(
                $"The image batch has {nhwcUnit.Length} values but [{batch}, {height}, {width}, {Channels}] needs {count}.",
                nameof(nhwcUnit));
        var images = new Image<Rgb24>[batch];
        for (int b = 0; b < batch; b++)
            images[b] = ToImage(nhwcUnit, b, height, width);
        return images;
    }

    private static int ElementCount(int batch, int height, int width)
    {
        if (batch <= 0)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch size must be positive.");
        if (height <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), height, "The height must be positive.");
        if (width <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), width, "The width must be positive.");
        long count = (long)batch * Channels * height * width;
        if (count > Array.MaxLength)
            throw new ArgumentException($"A batch of {batch} {height}x{width} images is too large for one buffer.", nameof(batch));
        return (int)count;
    }
}
