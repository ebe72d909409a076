using StableDiffusion.Lora;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>One LoRA of a pipeline's set, as Get-SdLora lists it.</summary>
public sealed class SdLoraInfo
{
    internal SdLoraInfo(LoraEntry entry, string model)
    {
        Entry = entry;
        Model = model;
    }

    internal LoraEntry Entry { get; }

    /// <summary>The file name without extension (the name Remove-SdLora and &lt;lora:name:w&gt; use).</summary>
    public string Name => Entry.Name;

    /// <summary>The .safetensors file.</summary>
    public string Path => Entry.Path;

    /// <summary>The multiplier on the UNet.</summary>
    public float Weight => Entry.Weight;

    /// <summary>The multiplier on the text encoder(s).</summary>
    public float TextEncoderWeight => Entry.TextEncoderWeight;

    /// <summary>The number of layers the LoRA changes.</summary>
    public int Modules => Entry.Modules;

    /// <summary>The model folder name of the pipeline it is applied to.</summary>
    public string Model { get; }

    public override string ToString() => $"{Name}:{Weight}";
}
