namespace StableDiffusion.Lora;

/// <summary>
/// LoRA keys that change nothing in the model (as diffusers raises for unexpected keys), or a LoRA made for another
/// model family; <see cref="Keys"/> lists what did not map.
/// </summary>
public sealed class LoraMappingException : InvalidOperationException
{
    public LoraMappingException(string message, IReadOnlyList<string> keys) : base(message) => Keys = keys;

    public IReadOnlyList<string> Keys { get; }

    /// <summary>True when the LoRA was refused for being made for another model family (SDXL on SD 1.x, or the reverse).</summary>
    public bool OtherFamily { get; init; }
}
