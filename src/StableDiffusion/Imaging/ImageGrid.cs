using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace StableDiffusion.Imaging;

/// <summary>
/// Lays images out on a grid, like the diffusers guide's <c>image_grid(imgs, rows, cols)</c>, row by row.
/// Missing rows/columns are computed (a near-square grid); images of different sizes are centred in cells
/// as large as the largest image, on black.
/// </summary>
public static class ImageGrid
{
    /// <summary>Widest or tallest grid written: many decoders and viewers stop at 65,535 pixels a side.</summary>
    public const int MaxSide = 65_535;

    /// <summary>Most pixels of a grid (16384² ≈ 268 million, 805 MB in memory as RGB) before any is composed.</summary>
    public const long MaxPixels = 16_384L * 16_384;

    /// <summary>Rows and columns for <paramref name="count"/> images, from whichever of them is given.</summary>
    /// <exception cref="ArgumentException">The given rows × columns cannot hold the images.</exception>
    public static (int Rows, int Columns) Layout(int count, int? rows, int? columns)
    {
        if (count < 1) throw new ArgumentException("A grid needs at least one image.", nameof(count));
        if (rows is < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "Rows must be 1 or more.");
        if (columns is < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Columns must be 1 or more.");
        int c = columns ?? (rows is int r0 ? (count + r0 - 1) / r0 : (int)Math.Ceiling(Math.Sqrt(count)));
        int r = rows ?? (count + c - 1) / c;
        if ((long)r * c < count)
            throw new ArgumentException($"A grid of {r} rows × {c} columns holds {(long)r * c} images, not {count}. Give more rows or columns, or leave one out to have it computed.");
        // Images fill the grid row by row, so a grid too large shows as whole rows (or, in one row, columns) left empty.
        if ((long)(r - 1) * c >= count)
            throw new ArgumentException($"A grid of {Count(r, "row")} × {Count(c, "column")} leaves rows empty for {count} images; {count} images in {Count(c, "column")} need {Count((count + c - 1) / c, "row")}. " +
                "Give fewer rows, or leave Rows out to have it computed.");
        if (r == 1 && c > count)
            throw new ArgumentException($"A grid of 1 row × {c} columns leaves columns empty for {count} images; give at most {count} columns, or leave Columns out to have it computed.");
        return (r, c);
    }

    /// <summary>
    /// Throws <see cref="InvalidSettingException"/> (error id <c>GridTooLarge</c>) when a grid of <paramref name="rows"/> ×
    /// <paramref name="columns"/> cells of <paramref name="cellWidth"/> × <paramref name="cellHeight"/> pixels would pass
    /// <see cref="MaxSide"/> or <see cref="MaxPixels"/>: checked before anything is allocated or composed.
    /// </summary>
    public static void CheckSize(int cellWidth, int cellHeight, int rows, int columns)
    {
        long width = (long)cellWidth * columns, height = (long)cellHeight * rows;
        if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
            throw new InvalidSettingException("Rows", "GridTooLarge", $"{width}x{height}",
                $"A grid of {Count(rows, "row")} × {Count(columns, "column")} of {cellWidth}×{cellHeight} images would be {width}×{height} pixels; a grid may be at most " +
                $"{MaxSide} pixels a side and {MaxPixels:N0} pixels in all. Give fewer rows or columns, or save the images as several grids.");
    }

    private static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    /// <summary>Composes the grid; cell i is at row i / columns, column i % columns.</summary>
    public static Image<Rgb24> Compose(IReadOnlyList<Image<Rgb24>> images, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(images);
        if ((long)rows * columns < images.Count) throw new ArgumentException("The grid is too small for the images.");
        int cellWidth = images.Max(i => i.Width);
        int cellHeight = images.Max(i => i.Height);
        CheckSize(cellWidth, cellHeight, rows, columns);
        var grid = new Image<Rgb24>(cellWidth * columns, cellHeight * rows, new Rgb24(0, 0, 0));
        grid.Mutate(context =>
        {
            for (int i = 0; i < images.Count; i++)
            {
                var image = images[i];
                int x = (i % columns) * cellWidth + (cellWidth - image.Width) / 2;
                int y = (i / columns) * cellHeight + (cellHeight - image.Height) / 2;
                context.DrawImage(image, new Point(x, y), 1f);
            }
        });
        return grid;
    }
}
