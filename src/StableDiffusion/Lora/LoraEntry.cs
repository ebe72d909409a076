namespace StableDiffusion.Lora;

/// <summary>
/// One LoRA of a pipeline's set: the file read once, its multiplier on the UNet (<see cref="Weight"/>, diffusers'
/// adapter weight / A1111's <c>&lt;lora:name:m&gt;</c>) and on the text encoder(s) (<see cref="TextEncoderWeight"/>).
/// <see cref="Name"/> is the file name without its extension, as A1111 names LoRAs.
/// </summary>
public sealed record LoraEntry
{
    private LoraEntry(LoraFile file, float weight, float textEncoderWeight)
    {
        File = file;
        Weight = weight;
        TextEncoderWeight = textEncoderWeight;
    }

    public LoraFile File { get; }

    public string Name => System.IO.Path.GetFileNameWithoutExtension(File.FilePath);

    public string Path => File.FilePath;

    public float Weight { get; init; }

    public float TextEncoderWeight { get; init; }

    /// <summary>The number of modules (layers) the LoRA changes.</summary>
    public int Modules => File.Modules.Count;

    /// <summary>The modules the LoRA changes in <paramref name="component"/>.</summary>
    public bool Changes(LoraComponent component) => File.Modules.Any(m => m.Component == component);

    /// <summary>The multiplier for <paramref name="component"/>.</summary>
    public float WeightFor(LoraComponent component) => component == LoraComponent.UNet ? Weight : TextEncoderWeight;

    /// <summary>
    /// Reads a LoRA file (refusing pickle files, broken safetensors and non-finite factors) with its multipliers;
    /// <paramref name="textEncoderWeight"/> defaults to <paramref name="weight"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A multiplier is NaN or infinite.</exception>
    public static LoraEntry Load(string path, float weight = 1f, float? textEncoderWeight = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var te = textEncoderWeight ?? weight;
        CheckWeight(weight, nameof(weight));
        CheckWeight(te, nameof(textEncoderWeight));
        return new LoraEntry(LoraFile.Load(path), weight, te);
    }

    /// <summary>This LoRA with other multipliers (the file is not read again).</summary>
    public LoraEntry WithWeights(float weight, float textEncoderWeight)
    {
        CheckWeight(weight, nameof(weight));
        CheckWeight(textEncoderWeight, nameof(textEncoderWeight));
        return new LoraEntry(File, weight, textEncoderWeight);
    }

    private static void CheckWeight(float value, string name)
    {
        if (!float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"A LoRA weight must be a finite number (1 applies the LoRA as trained, 0 turns it off); {value} was given.");
    }
}
