using System.Collections;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// A scheduler for -Scheduler: a name (<c>'DPM++ 2M Karras'</c>) or a hashtable with Name and diffusers options
/// (<c>@{ Name = 'DPMSolverMultistep'; use_karras_sigmas = $true }</c>). PowerShell converts either through the constructors.
/// </summary>
public sealed class SdSchedulerArgument
{
    public SdSchedulerArgument(string name) => Choice = new SchedulerChoice(name);

    public SdSchedulerArgument(Hashtable table)
    {
        string? name = null;
        foreach (DictionaryEntry e in table)
            if (string.Equals(e.Key?.ToString(), "Name", StringComparison.OrdinalIgnoreCase))
                name = e.Value?.ToString();
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("A scheduler hashtable needs a Name key, e.g. @{ Name = 'EulerDiscrete'; use_karras_sigmas = $true }.");
        Choice = new SchedulerChoice(name, OptionTable.From(table, "Name"));
    }

    internal SdSchedulerArgument(SchedulerChoice choice, string? description = null)
    {
        Choice = choice;
        _description = description;
    }

    private readonly string? _description;

    public SchedulerChoice Choice { get; }

    /// <summary>The name as given (class name, short name or UI name).</summary>
    public string Name => Choice.Name;

    public override string ToString() => _description ?? Choice.ToString();
}
