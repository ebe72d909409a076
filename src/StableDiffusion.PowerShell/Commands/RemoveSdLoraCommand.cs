using System.Management.Automation;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Removes LoRAs from the pipeline (the sessions they changed are rebuilt) and passes the pipeline on.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "SdLora", SupportsShouldProcess = true)]
[OutputType(typeof(SdPipeline))]
public sealed class RemoveSdLoraCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>The names of the LoRAs to remove (as Get-SdLora shows them); piped Get-SdLora output binds here.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        var engine = this.Live(Pipeline);
        foreach (var name in Name)
        {
            if (!engine.Loras.Any(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                var applied = engine.Loras.Count == 0 ? "none is applied" : "applied: " + string.Join(", ", engine.Loras.Select(l => l.Name));
                WriteError(new ErrorRecord(new ItemNotFoundException($"No LoRA named '{name}' is applied to {Pipeline.Model} ({applied}); Get-SdLora lists them."),
                    "LoraNotFound", ErrorCategory.ObjectNotFound, name));
                continue;
            }
            if (!ShouldProcess(Pipeline.Model, $"Remove LoRA '{name}' and rebuild the sessions it changed")) continue;
            try
            {
                this.Use(Pipeline, e => e.RemoveLora(name));
            }
            catch (Exception e) when (e is OnnxRuntimeException or Models.ModelLoadException or IOException or InvalidOperationException)
            {
                WriteError(ErrorRecords.From(e, name, "LoraSessionFailed"));
                continue;
            }
            WriteVerbose($"LoRA '{name}' removed from {Pipeline.Model}.");
        }
    }

    protected override void EndProcessing()
    {
        WriteObject(Pipeline); // once, however many names came down the pipeline
    }
}
