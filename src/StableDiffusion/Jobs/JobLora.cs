using StableDiffusion.Lora;

namespace StableDiffusion.Jobs;

/// <summary>
/// A LoRA a job applies to the pipeline it loads: the file read at validation (so a pickle, a broken file or a NaN
/// weight is a job problem), its multipliers, and the SHA-256 of the file's bytes, which is part of every image's
/// identity: a retrained file under the same name renders again.
/// </summary>
public sealed record JobLora(LoraEntry Entry, string Sha256)
{
    public string Name => Entry.Name;

    /// <summary>As recorded in the image: <c>name:weight</c> (<c>name:weight:te</c> when the text encoder's differs) and a short hash.</summary>
    public string Describe()
    {
        string weights = Entry.TextEncoderWeight == Entry.Weight ? F(Entry.Weight) : $"{F(Entry.Weight)}:{F(Entry.TextEncoderWeight)}";
        return $"{Name}:{weights} ({Sha256[..12]})";
    }

    private static string F(float v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
