using StableDiffusion.Jobs;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The rules for a setting written as loose input — a CSV cell, a property of a piped object, a job file value — shared by
/// Invoke-SdGeneration's pipeline rows and render jobs' prompt files: a blank text is "not given", text is read with the
/// invariant culture, a whole number must be whole ('1.5' is refused, never rounded), and anything else is refused.
/// </summary>
public static class InputValues
{
    /// <summary>An empty or blank text (an empty CSV cell): the setting is not given.</summary>
    public static bool IsBlank(object? value) => value is string s && s.Trim().Length == 0;

    /// <summary>A whole number: an integer type, an integral floating value, or invariant text such as "-12".</summary>
    public static bool TryInteger(object? value, out long result)
    {
        long? v = value is null ? null : JobTable.AsInteger(value, parseText: true);
        result = v ?? 0;
        return v is not null;
    }

    /// <summary>A finite number: any numeric type or invariant text such as "7.5" or "1e-3".</summary>
    public static bool TryNumber(object? value, out double result)
    {
        double? v = value is null ? null : JobTable.AsNumber(value, parseText: true);
        bool ok = v is { } d && double.IsFinite(d);
        result = ok ? v!.Value : 0;
        return ok;
    }

    /// <summary>How a refused value reads in a message ("the text 'abc'", "the number 1.5").</summary>
    public static string Describe(object? value) => JobTable.Describe(value);

    /// <summary>The known name closest to a misspelt one ("Promt" → "Prompt"), or null when none is close.</summary>
    public static string? ClosestName(string name, IReadOnlyList<string> known)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n.Length == 0 || known.Count == 0) return null;
        var best = known.Select(k => (Name: k, Distance: Schedulers.SchedulerRegistry.EditDistance(n, k.ToLowerInvariant())))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal).First();
        return best.Distance <= Math.Max(2, n.Length / 4) ? best.Name : null;
    }
}
