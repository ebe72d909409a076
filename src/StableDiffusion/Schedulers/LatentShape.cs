namespace StableDiffusion.Schedulers;

/// <summary>Shape of an NCHW float32 latent batch.</summary>
public readonly record struct LatentShape(int Batch, int Channels, int Height, int Width)
{
    /// <summary>Elements of one image of the batch (C·H·W).</summary>
    public int ImageLength => Channels * Height * Width;

    /// <summary>Elements of the whole batch.</summary>
    public int Length => Batch * ImageLength;

    public override string ToString() => $"[{Batch}, {Channels}, {Height}, {Width}]";
}
