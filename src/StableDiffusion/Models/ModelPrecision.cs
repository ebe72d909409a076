namespace StableDiffusion.Models;

/// <summary>The float precision a pipeline is asked to run in.</summary>
public enum ModelPrecision
{
    /// <summary>Whatever the model folder holds (float16 or float32 graphs).</summary>
    Auto,
    /// <summary>A float16 export is required (convert a float32 one with ConvertTo-SdFloat16).</summary>
    Float16,
    /// <summary>A float32 export is required.</summary>
    Float32,
}
