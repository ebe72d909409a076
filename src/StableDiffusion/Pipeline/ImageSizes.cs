namespace StableDiffusion.Pipeline;

/// <summary>A size as diffusers orders it: (height, width) — SDXL's original_size / target_size micro-conditioning.</summary>
public readonly record struct HeightWidth(int Height, int Width)
{
    public override string ToString() => $"({Height}, {Width})";
}

/// <summary>A position as diffusers orders it: (top, left) — SDXL's crops_coords_top_left.</summary>
public readonly record struct TopLeft(int Top, int Left)
{
    public override string ToString() => $"({Top}, {Left})";
}
