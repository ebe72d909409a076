namespace StableDiffusion.Schedulers;

/// <summary>
/// Another name for a scheduler (e.g. the A1111 UI name "DPM++ 2M Karras"), with the option overrides it implies.
/// </summary>
public sealed record SchedulerAlias(string Name, IReadOnlyDictionary<string, object?> Overrides)
{
    public SchedulerAlias(string name) : this(name, new Dictionary<string, object?>()) { }

    public SchedulerAlias(string name, params (string Key, object? Value)[] overrides)
        : this(name, overrides.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal)) { }
}

/// <summary>
/// What the registry knows about one scheduler class: its diffusers class name, other names (aliases, possibly with
/// option overrides), its solver order, whether <c>step()</c> draws noise, a one-line "when to use it", its declared
/// options (keys, defaults, allowed values) and how to build it.
/// </summary>
public sealed class SchedulerRegistration
{
    public SchedulerRegistration(string className, int order, bool stochastic, string summary, SchedulerOptionSet options,
                                 Func<SchedulerOptions, IScheduler> factory, params SchedulerAlias[] aliases)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ClassName = className;
        ShortName = className.EndsWith("Scheduler", StringComparison.Ordinal) ? className[..^"Scheduler".Length] : className;
        Order = order;
        Stochastic = stochastic;
        Summary = summary;
        Options = options;
        Factory = factory;
        Aliases = aliases;
    }

    /// <summary>diffusers class name, e.g. <c>DPMSolverMultistepScheduler</c>.</summary>
    public string ClassName { get; }

    /// <summary>The class name without the "Scheduler" suffix, e.g. <c>DPMSolverMultistep</c>.</summary>
    public string ShortName { get; }

    public IReadOnlyList<SchedulerAlias> Aliases { get; }

    /// <summary>diffusers' <c>order</c> (UNet calls per solver step).</summary>
    public int Order { get; }

    /// <summary>True when <c>step()</c> draws noise from the generators (with the default options).</summary>
    public bool Stochastic { get; }

    /// <summary>One line: when to use it.</summary>
    public string Summary { get; }

    public SchedulerOptionSet Options { get; }

    public Func<SchedulerOptions, IScheduler> Factory { get; }

    public override string ToString() => ClassName;
}
