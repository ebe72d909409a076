using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Decodes the images of a batch one at a time, so the VAE's peak memory is that of one image.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Enable, "SdVaeSlicing")]
[OutputType(typeof(SdPipeline))]
public sealed class EnableSdVaeSlicingCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    protected override void ProcessRecord()
    {
        this.Use(Pipeline, engine => engine.VaeSlicing = true);
        WriteVerbose($"{Pipeline.Model} decodes batches one image at a time.");
        WriteObject(Pipeline);
    }
}
