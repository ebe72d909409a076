using System.Collections;
using System.Management.Automation;

namespace StableDiffusion.PowerShell.Support;

/// <summary>Turns a PowerShell hashtable of scheduler options into plain CLR values (PSObject wrappers removed).</summary>
internal static class OptionTable
{
    public static Dictionary<string, object?> From(IDictionary? table, params string[] skipKeys)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (table is null) return result;
        foreach (DictionaryEntry entry in table)
        {
            string key = entry.Key?.ToString() ?? "";
            if (skipKeys.Contains(key, StringComparer.OrdinalIgnoreCase)) continue;
            result[key] = Unwrap(entry.Value);
        }
        return result;
    }

    private static object? Unwrap(object? value) => value switch
    {
        PSObject ps => Unwrap(ps.BaseObject),
        IDictionary d => From(d),
        string s => s,
        IEnumerable items => items.Cast<object?>().Select(Unwrap).ToArray(),
        _ => value,
    };
}
