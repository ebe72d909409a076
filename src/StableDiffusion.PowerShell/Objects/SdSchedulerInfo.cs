using StableDiffusion.Schedulers;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>One scheduler the module knows, as Get-SdScheduler lists it.</summary>
public sealed class SdSchedulerInfo
{
    internal SdSchedulerInfo(SchedulerRegistration registration, bool isCurrent)
    {
        Registration = registration;
        IsCurrent = isCurrent;
    }

    internal SchedulerRegistration Registration { get; }

    /// <summary>The diffusers class name.</summary>
    public string Name => Registration.ClassName;

    /// <summary>The class name without "Scheduler".</summary>
    public string ShortName => Registration.ShortName;

    /// <summary>Other accepted names (UI names such as "DPM++ 2M Karras"), with the options they imply.</summary>
    public string[] Aliases => Registration.Aliases.Select(a => a.Overrides.Count == 0
        ? a.Name
        : $"{a.Name} ({string.Join(", ", a.Overrides.Select(o => $"{o.Key}={Format(o.Value)}"))})").ToArray();

    /// <summary>UNet calls per solver step.</summary>
    public int Order => Registration.Order;

    /// <summary>Whether each step draws noise (from each image's own generator).</summary>
    public bool Stochastic => Registration.Stochastic;

    /// <summary>When to use it.</summary>
    public string Description => Registration.Summary;

    /// <summary>True for the pipeline's current scheduler (when -Pipeline was given).</summary>
    public bool IsCurrent { get; }

    /// <summary>The diffusers config keys the scheduler takes.</summary>
    public string[] Options => Registration.Options.Select(o => o.Key).ToArray();

    private static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => s,
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
