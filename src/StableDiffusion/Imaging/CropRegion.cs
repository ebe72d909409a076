namespace StableDiffusion.Imaging;

/// <summary>
/// A pixel rectangle as PIL's crop box and diffusers' <c>crops_coords</c>: <c>(x1, y1, x2, y2)</c>, right and bottom
/// exclusive.
/// </summary>
public readonly record struct CropRegion(int Left, int Top, int Right, int Bottom)
{
    public int Width => Right - Left;
    public int Height => Bottom - Top;

    public override string ToString() => $"({Left}, {Top}, {Right}, {Bottom})";
}
