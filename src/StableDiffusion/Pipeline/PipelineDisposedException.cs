namespace StableDiffusion.Pipeline;

/// <summary>
/// The pipeline was disposed: before the operation started, or while it ran (the run was cancelled so that its native
/// sessions could be freed). The fix is to load the model again.
/// </summary>
public sealed class PipelineDisposedException : ObjectDisposedException
{
    public PipelineDisposedException(string model, bool duringRun, Exception? inner = null)
        : base(Describe(model, duringRun), inner)
    {
        Model = model;
        DuringRun = duringRun;
    }

    /// <summary>The model folder name of the disposed pipeline.</summary>
    public string Model { get; }

    /// <summary>True when the pipeline was disposed while this operation ran (it was cancelled), false when it was already disposed.</summary>
    public bool DuringRun { get; }

    private static string Describe(string model, bool duringRun) => duringRun
        ? $"The pipeline '{model}' was disposed while this operation ran, so it was stopped. Load the model again with New-SdPipeline."
        : $"The pipeline '{model}' has been disposed; its sessions are freed. Load the model again with New-SdPipeline.";
}
