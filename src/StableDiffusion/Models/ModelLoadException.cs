namespace StableDiffusion.Models;

/// <summary>
/// A model folder, component or execution provider could not be loaded. The message says what is wrong
/// and how to fix it; <see cref="Target"/> names the file, folder or library at fault.
/// </summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(ModelLoadError error, string target, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Target = target;
    }

    public ModelLoadError Error { get; }

    /// <summary>The path or library name the error is about.</summary>
    public string Target { get; }
}

/// <summary>Kinds of load failure, so callers (the cmdlets) can map them to error categories.</summary>
public enum ModelLoadError
{
    /// <summary>The folder does not exist.</summary>
    FolderNotFound,
    /// <summary>The folder exists but is not a diffusers ONNX model folder (no model_index.json).</summary>
    NotAModelFolder,
    /// <summary>A required component (unet/, text_encoder/…) or file is missing.</summary>
    MissingComponent,
    /// <summary>A file is present but cannot be read (corrupt .onnx, bad JSON).</summary>
    InvalidFile,
    /// <summary>The graph's inputs or outputs are not those of a Stable Diffusion component.</summary>
    UnsupportedGraph,
    /// <summary>The requested execution provider cannot start (e.g. CUDA libraries missing).</summary>
    ProviderUnavailable,
    /// <summary>The model's float precision is not the one asked for (e.g. Float16 of a float32 export).</summary>
    PrecisionMismatch,
    /// <summary>A float16 graph on a provider without float16 kernels for its operators (the CPU).</summary>
    NoFloat16Kernels,
}
