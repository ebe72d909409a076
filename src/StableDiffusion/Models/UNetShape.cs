namespace StableDiffusion.Models;

/// <summary>
/// The shapes of one UNet call: <see cref="Batch"/> rows (2 per image with classifier-free guidance), a latent of
/// <see cref="Height"/>×<see cref="Width"/>, text embeddings of <see cref="SequenceLength"/>×<see cref="HiddenSize"/>.
/// A fixed-shape session is built, bound and cached per distinct value.
/// </summary>
public readonly record struct UNetShape(int Batch, int Channels, int Height, int Width, int SequenceLength, int HiddenSize)
{
    public long[] Sample => [Batch, Channels, Height, Width];
    public long[] Hidden => [Batch, SequenceLength, HiddenSize];
    public int SampleLength => Batch * Channels * Height * Width;

    public override string ToString() => $"batch {Batch}, latent {Channels}×{Height}×{Width}, text {SequenceLength}×{HiddenSize}";
}
