namespace StableDiffusion.Lora;

/// <summary>A LoRA file whose content cannot be used: a missing factor, mismatched shapes, non-finite weights.</summary>
public sealed class LoraFormatException : FormatException
{
    public LoraFormatException(string filePath, string? key, string problem)
        : base($"LoRA '{filePath}'{(key is null ? "" : $", '{key}'")}: {problem}")
    {
        FilePath = filePath;
        Key = key;
    }

    public string FilePath { get; }

    public string? Key { get; }

    /// <summary>True when the file holds NaN or infinite values (rather than a structural problem).</summary>
    public bool NonFiniteValues { get; init; }
}
