namespace StableDiffusion.Schedulers;

/// <summary>
/// Creates schedulers by name from a <see cref="SchedulerConfig"/> (the model's scheduler_config.json) plus overrides,
/// like diffusers' <c>OtherScheduler.from_config(pipe.scheduler.config, **overrides)</c>.
/// Names are matched case-insensitively, ignoring spaces, '_' and '-': the diffusers class name
/// (<c>EulerDiscreteScheduler</c>), its short form (<c>EulerDiscrete</c>) or a UI alias (<c>Euler</c>, <c>DPM++ 2M Karras</c>);
/// an alias may imply option overrides.
/// </summary>
public static class SchedulerRegistry
{
    // Adding a scheduler: one file with a static Registration, plus one line here.
    private static readonly SchedulerRegistration[] _registrations =
    [
        PndmScheduler.Registration,
        DdimScheduler.Registration,
        DdpmScheduler.Registration,
        EulerDiscreteScheduler.Registration,
        EulerAncestralDiscreteScheduler.Registration,
        LmsDiscreteScheduler.Registration,
        HeunDiscreteScheduler.Registration,
        KDpm2DiscreteScheduler.Registration,
        KDpm2AncestralDiscreteScheduler.Registration,
        DpmSolverMultistepScheduler.Registration,
        DpmSolverSinglestepScheduler.Registration,
        DeisMultistepScheduler.Registration,
        UniPCMultistepScheduler.Registration,
        LcmScheduler.Registration,
    ];

    private static readonly Lazy<Dictionary<string, (SchedulerRegistration Registration, SchedulerAlias? Alias)>> _byName = new(BuildIndex);

    public static IReadOnlyList<SchedulerRegistration> Registrations => _registrations;

    /// <summary>
    /// Every accepted name once: class names, short names and aliases (an alias equal to a short name, such as PNDM's,
    /// is listed once; names are compared as they are matched, see <see cref="Normalize"/>).
    /// </summary>
    public static IReadOnlyList<string> Names =>
        _registrations.SelectMany(r => new[] { r.ClassName, r.ShortName }.Concat(r.Aliases.Select(a => a.Name)))
            .DistinctBy(Normalize).ToArray();

    /// <summary>Finds a scheduler by name; throws <see cref="ArgumentException"/> listing the closest names when unknown.</summary>
    public static SchedulerRegistration Find(string name) => Resolve(name).Registration;

    public static bool TryFind(string name, out SchedulerRegistration registration)
    {
        if (_byName.Value.TryGetValue(Normalize(name), out var entry)) { registration = entry.Registration; return true; }
        registration = null!;
        return false;
    }

    /// <summary>
    /// Creates a scheduler. <paramref name="config"/> is the model's scheduler config (null: class defaults only);
    /// keys the class does not take are ignored. <paramref name="overrides"/> are user options: each key must be an
    /// option of the class and each value legal, else <see cref="ArgumentException"/>. Alias overrides apply first,
    /// user overrides win.
    /// </summary>
    public static IScheduler Create(string name, SchedulerConfig? config = null, IEnumerable<KeyValuePair<string, object?>>? overrides = null)
    {
        var (registration, alias) = Resolve(name);
        var userOverrides = overrides?.ToArray() ?? [];
        registration.Options.ValidateOverrides(registration.ClassName, userOverrides);
        var effective = config ?? SchedulerConfig.Empty;
        if (alias is not null) effective = effective.With(alias.Overrides);
        effective = effective.With(userOverrides);
        return registration.Factory(registration.Options.Resolve(effective));
    }

    /// <summary>Creates the scheduler the config names in <c>_class_name</c>.</summary>
    public static IScheduler Create(SchedulerConfig config, IEnumerable<KeyValuePair<string, object?>>? overrides = null) =>
        Create(config.ClassName ?? throw new ArgumentException("The scheduler config has no _class_name; give the scheduler name.", nameof(config)),
               config, overrides);

    private static (SchedulerRegistration Registration, SchedulerAlias? Alias) Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.Value.TryGetValue(Normalize(name), out var entry)) return entry;
        var closest = Names
            .Select(n => (Name: n, Distance: EditDistance(Normalize(name), Normalize(n))))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(5).Select(x => x.Name);
        throw new ArgumentException(
            $"Unknown scheduler '{name}'. Closest names: {string.Join(", ", closest)}. " +
            $"Known schedulers: {string.Join(", ", _registrations.Select(r => r.ClassName))}.", nameof(name));
    }

    private static Dictionary<string, (SchedulerRegistration, SchedulerAlias?)> BuildIndex()
    {
        var index = new Dictionary<string, (SchedulerRegistration, SchedulerAlias?)>(StringComparer.Ordinal);
        void Add(string name, SchedulerRegistration registration, SchedulerAlias? alias)
        {
            var key = Normalize(name);
            if (index.TryGetValue(key, out var existing) && existing.Item1 != registration)
                throw new InvalidOperationException($"Scheduler name '{name}' is registered twice ({existing.Item1.ClassName}, {registration.ClassName}).");
            index[key] = (registration, alias);
        }
        foreach (var r in _registrations)
        {
            Add(r.ClassName, r, null);
            Add(r.ShortName, r, null);
        }
        foreach (var r in _registrations)
            foreach (var alias in r.Aliases)
                Add(alias.Name, r, alias);
        return index;
    }

    /// <summary>Lower case without spaces, '_' and '-': "DPM++ 2M Karras" → "dpm++2mkarras".</summary>
    internal static string Normalize(string name) =>
        new(name.Where(c => !char.IsWhiteSpace(c) && c != '_' && c != '-').Select(char.ToLowerInvariant).ToArray());

    /// <summary>Levenshtein distance.</summary>
    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
