using System.Management.Automation;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// The one check every cmdlet that takes an <see cref="SdPipeline"/> makes: a disposed pipeline stops the cmdlet with
/// the PipelineDisposed error (the same for every cmdlet), before any work and also when it is disposed while the
/// cmdlet uses it (from another runspace).
/// </summary>
internal static class PipelineAccess
{
    /// <summary>The library pipeline, or the PipelineDisposed terminating error when it was disposed.</summary>
    public static StableDiffusionPipeline Live(this PSCmdlet cmdlet, SdPipeline pipeline)
    {
        if (pipeline.IsDisposed) cmdlet.ThrowTerminatingError(ErrorRecords.PipelineDisposed(pipeline));
        return pipeline.Engine;
    }

    /// <summary>Runs <paramref name="operation"/> on the live pipeline; disposal before or during it is the PipelineDisposed error.</summary>
    public static T Use<T>(this PSCmdlet cmdlet, SdPipeline pipeline, Func<StableDiffusionPipeline, T> operation)
    {
        var engine = cmdlet.Live(pipeline);
        try
        {
            return operation(engine);
        }
        catch (PipelineDisposedException e)
        {
            cmdlet.ThrowTerminatingError(ErrorRecords.PipelineDisposed(pipeline, e));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <inheritdoc cref="Use{T}"/>
    public static void Use(this PSCmdlet cmdlet, SdPipeline pipeline, Action<StableDiffusionPipeline> operation) =>
        cmdlet.Use(pipeline, engine =>
        {
            operation(engine);
            return true;
        });
}
