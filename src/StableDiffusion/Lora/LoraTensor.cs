namespace StableDiffusion.Lora;

/// <summary>One factor of a module, read as float32, with the file key it came from.</summary>
public sealed record LoraTensor(string Key, int[] Shape, float[] Values)
{
    /// <summary>The first dimension (the rank of a down/A factor).</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>The elements per first-dimension row.</summary>
    public int RowLength => Shape.Length == 0 ? 1 : Values.Length / Math.Max(Shape[0], 1);
}
