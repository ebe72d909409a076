using System.Management.Automation;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Removes every LoRA from the pipeline (back to the model's own weights) and passes the pipeline on.</para>
/// </summary>
[Cmdlet(VerbsCommon.Clear, "SdLora", SupportsShouldProcess = true)]
[OutputType(typeof(SdPipeline))]
public sealed class ClearSdLoraCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    protected override void ProcessRecord()
    {
        var engine = this.Live(Pipeline);
        if (engine.Loras.Count > 0 && ShouldProcess(Pipeline.Model, $"Remove {engine.Loras.Count} LoRA(s) and rebuild the sessions they changed"))
        {
            try
            {
                this.Use(Pipeline, e => e.ClearLoras());
            }
            catch (Exception e) when (e is OnnxRuntimeException or Models.ModelLoadException or IOException or InvalidOperationException)
            {
                WriteError(ErrorRecords.From(e, Pipeline, "LoraSessionFailed"));
                return;
            }
        }
        WriteObject(Pipeline);
    }
}
