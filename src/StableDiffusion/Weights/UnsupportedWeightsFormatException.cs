namespace StableDiffusion.Weights;

/// <summary>
/// A weights file in a format that is refused on purpose: pickle checkpoints (.pt/.ckpt/.bin) can run code when
/// loaded, so they are never opened; the message says to convert them to .safetensors.
/// </summary>
public sealed class UnsupportedWeightsFormatException : NotSupportedException
{
    public UnsupportedWeightsFormatException(string filePath, string message) : base(message) => FilePath = filePath;

    public string FilePath { get; }
}
