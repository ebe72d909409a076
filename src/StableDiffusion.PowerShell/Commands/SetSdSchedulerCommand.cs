using System.Collections;
using System.Management.Automation;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Swaps the pipeline's scheduler, keeping the model's noise schedule (diffusers' from_config).</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "SdScheduler", SupportsShouldProcess = false)]
[OutputType(typeof(SdPipeline))]
public sealed class SetSdSchedulerCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out so configuration chains.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>Scheduler name: diffusers class name, short form or UI name.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(SchedulerNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>diffusers config keys to override, e.g. @{ use_karras_sigmas = $true }.</summary>
    [Parameter(Position = 1)]
    public Hashtable? Option { get; set; }

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        var choice = new SchedulerChoice(Name, OptionTable.From(Option));
        try
        {
            this.Use(Pipeline, engine => engine.Scheduler = choice);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            ThrowTerminatingError(ErrorRecords.From(e, Option is null ? Name : choice, "InvalidScheduler"));
        }
        WriteVerbose($"Scheduler of {Pipeline.Model}: {choice}.");
        WriteObject(Pipeline);
    }
}
