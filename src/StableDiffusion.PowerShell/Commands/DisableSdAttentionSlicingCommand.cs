using System.Management.Automation;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Models;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Goes back to the pipeline's original UNet graph.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Disable, "SdAttentionSlicing")]
[OutputType(typeof(SdPipeline))]
public sealed class DisableSdAttentionSlicingCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    protected override void ProcessRecord()
    {
        if (this.Live(Pipeline).AttentionSlicing is null)
        {
            WriteVerbose($"Attention slicing is already off for {Pipeline.Model}.");
        }
        else
        {
            try
            {
                this.Use(Pipeline, engine => engine.DisableAttentionSlicing());
                WriteVerbose($"{Pipeline.Model}'s UNet runs its original graph again.");
            }
            catch (Exception e) when (e is ModelLoadException or OnnxRuntimeException)
            {
                WriteError(ErrorRecords.From(e, Pipeline, "AttentionSlicingFailed"));
                return;
            }
        }
        WriteObject(Pipeline);
    }
}
