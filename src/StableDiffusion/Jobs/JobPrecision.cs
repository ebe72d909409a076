namespace StableDiffusion.Jobs;

/// <summary>The float type a job expects its model to run in.</summary>
public enum JobPrecision
{
    /// <summary>Whatever the model's graphs use.</summary>
    Auto,
    Float16,
    Float32,
}
