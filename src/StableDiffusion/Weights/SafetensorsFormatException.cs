namespace StableDiffusion.Weights;

/// <summary>A .safetensors file that breaks the format: says which file, which tensor (if any) and what is wrong.</summary>
public sealed class SafetensorsFormatException : FormatException
{
    public SafetensorsFormatException(string filePath, string? tensorName, string problem)
        : base($"'{filePath}'{(tensorName is null ? "" : $", tensor '{tensorName}'")}: {problem}")
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    public string FilePath { get; }

    public string? TensorName { get; }

    public string Problem { get; }
}
