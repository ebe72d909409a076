using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;
using StableDiffusion.Schedulers;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the schedulers the pipeline can use.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdScheduler")]
[OutputType(typeof(SdSchedulerInfo))]
public sealed class GetSdSchedulerCommand : PSCmdlet
{
    /// <summary>Marks this pipeline's current scheduler.</summary>
    [Parameter(ValueFromPipeline = true)]
    public SdPipeline? Pipeline { get; set; }

    /// <summary>Only these schedulers (any accepted name).</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(SchedulerNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        string? current = null;
        if (Pipeline is not null)
            current = SchedulerRegistry.TryFind(this.Live(Pipeline).Scheduler.Name, out var r) ? r.ClassName : null;
        IEnumerable<SchedulerRegistration> selected = SchedulerRegistry.Registrations;
        if (Name is { Length: > 0 })
        {
            var list = new List<SchedulerRegistration>();
            foreach (var n in Name)
            {
                try { list.Add(SchedulerRegistry.Find(n)); }
                catch (ArgumentException e) { WriteError(ErrorRecords.From(e, n, "UnknownScheduler")); }
            }
            selected = list;
        }
        foreach (var registration in selected)
            WriteObject(new SdSchedulerInfo(registration, registration.ClassName == current));
    }
}
