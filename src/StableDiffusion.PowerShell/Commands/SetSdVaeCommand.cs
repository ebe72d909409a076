using System.Management.Automation;
using StableDiffusion.Models;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Swaps the pipeline's VAE for another ONNX export's.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "SdVae")]
[OutputType(typeof(SdPipeline))]
public sealed class SetSdVaeCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>Folder of the VAE export (with vae_decoder/, or holding model.onnx).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("VaePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            this.Use(Pipeline, engine => engine.ReplaceVae(full));
        }
        catch (ModelLoadException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e, null, "InvalidVae"));
        }
        WriteVerbose($"VAE of {Pipeline.Model}: {full}.");
        WriteObject(Pipeline);
    }
}
