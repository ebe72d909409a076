namespace StableDiffusion.Imaging;

/// <summary>
/// Pillow 9.4's <c>Image.resize(size, resample, box)</c> for 8-bit L, RGB and RGBA, bit for bit: the Python wrapper
/// (copy when nothing changes, RGBA resampled premultiplied as "RGBa", an integer box of the output size cropped)
/// and libImaging/Resample.c (separable convolution, horizontal pass first over only the rows the vertical pass
/// reads, coefficients in 22-bit fixed point). Written here because no maintained .NET library is PIL-exact:
/// ImageSharp's Lanczos3 uses another kernel normalisation and float accumulation, so its pixels differ by a level
/// or more, and diffusers' preprocessed tensors would not match.
/// </summary>
public static class PilResample
{
    /// <summary>Fractional bits of the fixed-point coefficients: 32 bits less 8 for the sample, 2 for overshoot.</summary>
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary><c>image.resize((width, height), filter, box)</c>.</summary>
    /// <param name="image">L, RGB or RGBA source.</param>
    /// <param name="width">Output width, at least 1.</param>
    /// <param name="height">Output height, at least 1.</param>
    /// <param name="filter">The resampling filter (diffusers uses Lanczos; PIL's default is Bicubic).</param>
    /// <param name="box">The source region; the whole image when null.</param>
    /// <returns>The resized image (the same instance when the size and box leave it unchanged, as PIL copies).</returns>
    /// <exception cref="ArgumentException">The box lies outside the image or is inverted (PIL's ValueError).</exception>
    public static SourceImage Resize(SourceImage image, int width, int height, PilFilter filter = PilFilter.Lanczos, PilBox? box = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        PilBox whole = PilBox.Whole(image.Width, image.Height);
        PilBox region = box ?? whole;
        if (region.Left < 0 || region.Top < 0)
            throw new ArgumentException($"The resize box {region} has a negative offset.", nameof(box));
        if (region.Right > image.Width || region.Bottom > image.Height)
            throw new ArgumentException($"The resize box {region} exceeds the {image.Width}×{image.Height} image.", nameof(box));
        if (region.Right - region.Left < 0 || region.Bottom - region.Top < 0)
            throw new ArgumentException($"The resize box {region} is inverted.", nameof(box));
        if (image.Width == width && image.Height == height && region == whole)
            return image;

        int channels = image.Channels;
        byte[] source = image.Pixels;
        if (image.Mode == PixelMode.Rgba)
        {
            // Image.resize converts RGBA to RGBa around the resampling (not for NEAREST, which this port lacks).
            source = (byte[])source.Clone();
            PilConvert.Premultiply(source);
        }

        byte[] result = IsIntegerRegionOfSize(region, width, height)
            ? PilImageOps.Crop(source, image.Width, image.Height, channels,
                (int)region.Left, (int)region.Top, (int)region.Right, (int)region.Bottom)
            : Resample(source, image.Width, image.Height, channels, width, height, filter, region);

        if (image.Mode == PixelMode.Rgba)
            PilConvert.Unpremultiply(result);
        return new SourceImage(width, height, image.Mode, result, image.FileName);
    }

    /// <summary>_imaging.c's <c>_resize</c> crops instead of resampling when the box is whole pixels of the output size.</summary>
    private static bool IsIntegerRegionOfSize(PilBox box, int width, int height) =>
        box.Left - (int)box.Left == 0 && box.Right - box.Left == width
        && box.Top - (int)box.Top == 0 && box.Bottom - box.Top == height;

    /// <summary>Resample.c <c>ImagingResampleInner</c> on interleaved 8-bit samples.</summary>
    private static byte[] Resample(byte[] source, int inWidth, int inHeight, int channels, int width, int height,
        PilFilter filter, PilBox box)
    {
        // Pillow compares the box's right/bottom with the OUTPUT size here; kept as it is.
        bool needHorizontal = width != inWidth || box.Left != 0 || box.Right != width;
        bool needVertical = height != inHeight || box.Top != 0 || box.Bottom != height;

        Coefficients horizontal = Coefficients.Compute(inWidth, box.Left, box.Right, width, filter);
        Coefficients vertical = Coefficients.Compute(inHeight, box.Top, box.Bottom, height, filter);

        // Only the source rows the vertical pass reads go through the horizontal pass.
        int firstRow = vertical.Bounds[0];
        int lastRow = vertical.Bounds[height * 2 - 2] + vertical.Bounds[height * 2 - 1];

        byte[] current = source;
        int currentWidth = inWidth;
        if (needHorizontal)
        {
            for (int i = 0; i < height; i++)
                vertical.Bounds[i * 2] -= firstRow;
            var temporary = new byte[width * (lastRow - firstRow) * channels];
            ResampleHorizontal(current, currentWidth, channels, temporary, width, lastRow - firstRow, firstRow, horizontal);
            current = temporary;
            currentWidth = width;
        }

        if (needVertical)
        {
            var output = new byte[currentWidth * height * channels];
            ResampleVertical(current, currentWidth * channels, output, height, vertical);
            return output;
        }
        return ReferenceEquals(current, source) ? (byte[])source.Clone() : current;
    }

    private static void ResampleHorizontal(ReadOnlySpan<byte> source, int sourceWidth, int channels, Span<byte> output,
        int width, int rows, int rowOffset, Coefficients coefficients)
    {
        ReadOnlySpan<int> bounds = coefficients.Bounds;
        ReadOnlySpan<int> weights = coefficients.Weights;
        int ksize = coefficients.KernelSize;
        for (int yy = 0; yy < rows; yy++)
        {
            ReadOnlySpan<byte> sourceRow = source.Slice((yy + rowOffset) * sourceWidth * channels, sourceWidth * channels);
            Span<byte> outputRow = output.Slice(yy * width * channels, width * channels);
            for (int xx = 0; xx < width; xx++)
            {
                int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1];
                ReadOnlySpan<int> k = weights.Slice(xx * ksize, xmax);
                for (int c = 0; c < channels; c++)
                {
                    int sum = 1 << (PrecisionBits - 1);
                    for (int x = 0, s = xmin * channels + c; x < k.Length; x++, s += channels)
                        sum += sourceRow[s] * k[x];
                    outputRow[xx * channels + c] = Clip8(sum);
                }
            }
        }
    }

    private static void ResampleVertical(ReadOnlySpan<byte> source, int rowLength, Span<byte> output, int height,
        Coefficients coefficients)
    {
        ReadOnlySpan<int> bounds = coefficients.Bounds;
        ReadOnlySpan<int> weights = coefficients.Weights;
        int ksize = coefficients.KernelSize;
        for (int yy = 0; yy < height; yy++)
        {
            int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1];
            ReadOnlySpan<int> k = weights.Slice(yy * ksize, ymax);
            Span<byte> outputRow = output.Slice(yy * rowLength, rowLength);
            for (int i = 0; i < rowLength; i++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int y = 0, s = ymin * rowLength + i; y < k.Length; y++, s += rowLength)
                    sum += source[s] * k[y];
                outputRow[i] = Clip8(sum);
            }
        }
    }

    /// <summary>Resample.c <c>clip8</c>: the fixed-point sum to a byte, saturating (arithmetic shift, as in C).</summary>
    private static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>One pass's kernels: Resample.c <c>precompute_coeffs</c> then <c>normalize_coeffs_8bpc</c>.</summary>
    private sealed class Coefficients
    {
        private Coefficients(int kernelSize, int[] bounds, int[] weights)
        {
            KernelSize = kernelSize;
            Bounds = bounds;
            Weights = weights;
        }

        public int KernelSize { get; }

        /// <summary>Per output pixel: first source index, then the number of taps.</summary>
        public int[] Bounds { get; }

        /// <summary>Per output pixel, <see cref="KernelSize"/> fixed-point weights (unused taps are 0).</summary>
        public int[] Weights { get; }

        public static Coefficients Compute(int inSize, float in0, float in1, int outSize, PilFilter filter)
        {
            double filterSupport = filter == PilFilter.Lanczos ? 3.0 : 2.0;
            // (in1 - in0) is a float subtraction in C, then widened.
            double scale = (double)(in1 - in0) / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = filterSupport * filterScale;
            int ksize = (int)Math.Ceiling(support) * 2 + 1;

            var bounds = new int[outSize * 2];
            var weights = new int[outSize * ksize];
            Span<double> k = ksize <= 256 ? stackalloc double[ksize] : new double[ksize];
            double ss = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = in0 + (xx + 0.5) * scale;
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++)
                {
                    double w = Kernel(filter, (x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                Span<int> fixedPoint = weights.AsSpan(xx * ksize, ksize);
                for (int x = 0; x < xmax; x++)
                {
                    double normalised = ww != 0.0 ? k[x] / ww : k[x];
                    fixedPoint[x] = normalised < 0
                        ? (int)(-0.5 + normalised * (1 << PrecisionBits))
                        : (int)(0.5 + normalised * (1 << PrecisionBits));
                }
                bounds[xx * 2] = xmin;
                bounds[xx * 2 + 1] = Math.Max(xmax, 0);
            }
            return new Coefficients(ksize, bounds, weights);
        }

        private static double Kernel(PilFilter filter, double x) => filter == PilFilter.Lanczos ? Lanczos(x) : Bicubic(x);

        private static double Lanczos(double x) => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;

        private static double Sinc(double x)
        {
            if (x == 0.0)
                return 1.0;
            x *= Math.PI;
            return Math.Sin(x) / x;
        }

        private static double Bicubic(double x)
        {
            const double a = -0.5;
            if (x < 0.0)
                x = -x;
            if (x < 1.0)
                return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0)
                return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
    }
}
