namespace StableDiffusion.Imaging;

/// <summary>
/// The source region of PIL's <c>resize(size, box=(x0, y0, x1, y1))</c>, in float32 as Pillow parses it; the
/// region may be empty in one direction (diffusers' fill resizes a zero-height edge row into a band).
/// </summary>
public readonly record struct PilBox(float Left, float Top, float Right, float Bottom)
{
    /// <summary>The whole of a width × height image (PIL's default box).</summary>
    public static PilBox Whole(int width, int height) => new(0, 0, width, height);
}
