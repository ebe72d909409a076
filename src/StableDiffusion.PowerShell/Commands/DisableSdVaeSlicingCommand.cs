using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Decodes each batch in one VAE call again.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Disable, "SdVaeSlicing")]
[OutputType(typeof(SdPipeline))]
public sealed class DisableSdVaeSlicingCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    protected override void ProcessRecord()
    {
        this.Use(Pipeline, engine => engine.VaeSlicing = false);
        WriteVerbose($"{Pipeline.Model} decodes each batch in one call.");
        WriteObject(Pipeline);
    }
}
