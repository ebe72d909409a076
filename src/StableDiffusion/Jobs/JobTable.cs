using System.Collections;
using System.Globalization;

namespace StableDiffusion.Jobs;

/// <summary>
/// One table of a job (the top level, Defaults, a prompt, or a prompt file row) read against the keys it knows:
/// unknown and repeated keys are reported on construction, and each typed read reports a wrong type or range at the
/// key's location instead of throwing, so that validation finds every problem in one pass.
/// </summary>
internal sealed class JobTable
{
    private readonly Dictionary<string, (string Key, object? Value)> _entries = new(StringComparer.Ordinal);
    private readonly JobProblems _problems;
    private readonly Func<string, string>? _locate;

    /// <param name="table">The table as read from the file.</param>
    /// <param name="path">Its key path ("" for the top level, "Prompts[2]"…).</param>
    /// <param name="known">Canonical keys of this level.</param>
    /// <param name="problems">Where problems go.</param>
    /// <param name="misplaced">A hint for a key that belongs to another level, or null.</param>
    /// <param name="locate">For rows of another file: the location text of a column (and the values are text to parse).</param>
    public JobTable(IDictionary table, string path, IReadOnlyList<string> known, JobProblems problems,
        Func<string, string?>? misplaced = null, Func<string, string>? locate = null)
    {
        Path = path;
        _problems = problems;
        _locate = locate;
        foreach (DictionaryEntry entry in table)
        {
            string key = entry.Key?.ToString() ?? "";
            string? canonical = JobKeys.Canonical(key, known);
            if (canonical is null)
            {
                string? hint = misplaced?.Invoke(key);
                string? closest = hint is null ? JobKeys.Closest(key, known) : null;
                Add(Where(key), hint ?? (closest is not null
                    ? $"Unknown key '{key}'. Did you mean '{closest}'?"
                    : $"Unknown key '{key}'. The keys here are: {string.Join(", ", known)}."));
                continue;
            }
            if (_entries.TryGetValue(canonical, out var first))
            {
                Add(Where(key), $"'{key}' and '{first.Key}' both set {canonical}; keep one.");
                continue;
            }
            _entries[canonical] = (key, entry.Value);
        }
    }

    public string Path { get; }

    /// <summary>Where problems go (and the document they are about).</summary>
    public JobProblems Problems => _problems;

    /// <summary>Whether the values are text cells to parse (a CSV row) rather than typed values.</summary>
    public bool IsText => _locate is not null;

    public bool Has(string key) => _entries.ContainsKey(key);

    public object? Raw(string key) => _entries.TryGetValue(key, out var e) ? e.Value : null;

    /// <summary>The location of a key as the user wrote it (or its canonical name when missing).</summary>
    public string Where(string key)
    {
        string written = _entries.TryGetValue(key, out var e) ? e.Key : key;
        if (_locate is not null) return _locate(written);
        return Path.Length == 0 ? written : $"{Path}.{written}";
    }

    public void Add(string location, string message)
    {
        if (_locate is not null) _problems.AddElsewhere(location, message);
        else _problems.Add(location, message);
    }

    /// <summary>A text value (null when absent or wrong).</summary>
    public string? String(string key, bool required = false, string? requiredHint = null)
    {
        if (!_entries.TryGetValue(key, out var e) || e.Value is null)
        {
            if (required) Add(Where(key), $"{key} is required{requiredHint}.");
            return null;
        }
        if (e.Value is string s) return s;
        Add(Where(key), $"{key} must be text (a string in quotes); it is {Describe(e.Value)}.");
        return null;
    }

    /// <summary>An integer within [min, max] (null when absent or wrong).</summary>
    public int? Int(string key, int min, int max, string? rangeHint = null)
    {
        if (!_entries.TryGetValue(key, out var e) || e.Value is null || (IsText && e.Value is string { Length: 0 })) return null;
        long? value = AsInteger(e.Value, IsText);
        if (value is null)
        {
            Add(Where(key), $"{key} must be a whole number; it is {Describe(e.Value)}.");
            return null;
        }
        if (value < min || value > max)
        {
            Add(Where(key), rangeHint ?? $"{key} must be between {min} and {max}; it is {value}.");
            return null;
        }
        return (int)value;
    }

    /// <summary>A finite number accepted by <paramref name="check"/> (which returns an error message or null).</summary>
    public double? Number(string key, Func<double, string?> check)
    {
        if (!_entries.TryGetValue(key, out var e) || e.Value is null || (IsText && e.Value is string { Length: 0 })) return null;
        double? value = AsNumber(e.Value, IsText);
        if (value is null || !double.IsFinite(value.Value))
        {
            Add(Where(key), $"{key} must be a number; it is {Describe(e.Value)}.");
            return null;
        }
        if (check(value.Value) is { } message)
        {
            Add(Where(key), message);
            return null;
        }
        return value;
    }

    /// <summary>A true/false value ($true/$false in a .psd1 file, true/false in JSON, True/False in a CSV cell).</summary>
    public bool? Bool(string key)
    {
        if (!_entries.TryGetValue(key, out var e) || e.Value is null || (IsText && e.Value is string { Length: 0 })) return null;
        if (e.Value is bool b) return b;
        if (IsText && e.Value is string s && bool.TryParse(s.Trim(), out bool parsed)) return parsed;
        Add(Where(key), $"{key} must be true or false ($true or $false in a .psd1 file); it is {Describe(e.Value)}.");
        return null;
    }

    /// <summary>A value from a fixed set of names (case-insensitive); the closest name is suggested.</summary>
    public string? Choice(string key, IReadOnlyList<string> allowed)
    {
        string? s = String(key);
        if (s is null) return null;
        var match = allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase));
        if (match is not null) return match;
        Add(Where(key), $"{key} must be one of {string.Join(", ", allowed)}; it is '{s}'.");
        return null;
    }

    internal static long? AsInteger(object value, bool parseText) => value switch
    {
        int i => i,
        long l => l,
        short s => s,
        byte b => b,
        sbyte sb => sb,
        uint u => u,
        ushort us => us,
        ulong ul when ul <= long.MaxValue => (long)ul,
        double d when double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 9.2e18 => (long)d,
        float f when float.IsFinite(f) && MathF.Floor(f) == f && Math.Abs(f) < 9.2e18f => (long)f,
        decimal m when decimal.Truncate(m) == m && m <= long.MaxValue && m >= long.MinValue => (long)m,
        string s when parseText && long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long p) => p,
        _ => null,
    };

    internal static double? AsNumber(object value, bool parseText) => value switch
    {
        double d => d,
        float f => f,
        decimal m => (double)m,
        string s when parseText => double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) ? p : null,
        string => null,
        bool => null,
        _ => AsInteger(value, false),
    };

    /// <summary>How a wrong value reads in a message.</summary>
    internal static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"the text '{s}'",
        bool b => b ? "true" : "false",
        IDictionary => "a table",
        IList => "a list",
        IFormattable f => $"the number {f.ToString(null, CultureInfo.InvariantCulture)}",
        _ => $"a {value.GetType().Name}",
    };
}
