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
            throw new ArgumentException($"A grid of {r} rows × {c} columns holds {r * c} images, not {count}. Give more rows or columns, or leave one out to have it computed.");
        return (r, c);
    }

    /// <summary>Composes the grid; cell i is at row i / columns, column i % columns.</summary>
    public static Image<Rgb24> Compose(IReadOnlyList<Image<Rgb24>> images, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(images);
        if ((long)rows * columns < images.Count) throw new ArgumentException("The grid is too small for the images.");
        int cellWidth = images.Max(i => i.Width);
        int cellHeight = images.Max(i => i.Height);
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
