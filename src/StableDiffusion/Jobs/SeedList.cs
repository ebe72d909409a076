using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;

namespace StableDiffusion.Jobs;

/// <summary>
/// Seeds as a job writes them: a number, a range as text ('100-109' or '100..109', both ends included), or a list of
/// those; in text ("1; 5; 10-12") several may be separated by commas, semicolons or spaces.
/// </summary>
public static partial class SeedList
{
    /// <summary>Most seeds one range may give: a slip such as '1-1000000' is caught rather than rendered all night.</summary>
    public const int MaxRangeLength = 100_000;

    /// <summary>Most seeds one Seeds value may give in all (its ranges and numbers together), counted before any is listed.</summary>
    public const int MaxSeeds = 100_000;

    /// <summary>Parses <paramref name="value"/>; returns null and reports through <paramref name="problem"/> when it is wrong.</summary>
    public static List<long>? Parse(object? value, Action<string> problem)
    {
        var seeds = new List<long>();
        bool ok = true;
        void Fail(string message) { ok = false; problem(message); }

        void AddText(string text)
        {
            // "100 - 109" is one range: close up the spaces around range marks before splitting on separators.
            var parts = Separators().Split(RangeSpaces().Replace(text.Trim(), "$1")).Where(p => p.Length > 0).ToArray();
            if (parts.Length == 0) Fail("Seeds is empty; give a seed (7), a range ('100-109') or a list of them.");
            foreach (var part in parts)
            {
                var m = Range().Match(part);
                if (!m.Success)
                {
                    Fail($"'{part}' is not a seed or a seed range; write a whole number of 0 or more (7) or a range ('100-109').");
                    continue;
                }
                if (!long.TryParse(m.Groups["from"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long from)
                    || !long.TryParse(m.Groups["to"].Success ? m.Groups["to"].Value : m.Groups["from"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long to))
                {
                    Fail($"'{part}' is too large for a seed (at most {long.MaxValue}).");
                    continue;
                }
                if (to < from)
                {
                    Fail($"The seed range '{part}' runs backwards; write it from the lower seed to the higher ('{to}-{from}').");
                    continue;
                }
                // Both ends are 0 … long.MaxValue, so to − from cannot overflow; the count is checked before listing.
                long length = to - from;
                if (length >= MaxRangeLength)
                {
                    Fail($"The seed range '{part}' holds {(length == long.MaxValue ? $"{length} + 1" : $"{length + 1}")} seeds; one range may hold at most {MaxRangeLength}. Split it if you mean it.");
                    continue;
                }
                if (seeds.Count + length + 1 > MaxSeeds)
                {
                    TooMany(part);
                    continue;
                }
                // Counted, not compared: a range ending at long.MaxValue must not step past it (s++ would wrap).
                for (long i = 0; i <= length; i++) seeds.Add(from + i);
            }
        }

        void AddOne(object? item, bool nested)
        {
            switch (item)
            {
                case null:
                    Fail("Seeds holds a null; give whole numbers or ranges.");
                    break;
                case string s:
                    AddText(s);
                    break;
                case IList list when !nested:
                    if (list.Count == 0) Fail("Seeds is an empty list; give at least one seed.");
                    foreach (var x in list) AddOne(x, nested: true);
                    break;
                default:
                    long? n = JobTable.AsInteger(item, parseText: false);
                    if (n is null) Fail($"Seeds must be whole numbers or ranges such as '100-109'; {JobTable.Describe(item)} is neither.");
                    else if (n < 0) Fail($"Seeds must be 0 or more; {n} is not.");
                    else if (seeds.Count >= MaxSeeds) TooMany(n.Value.ToString(CultureInfo.InvariantCulture));
                    else seeds.Add(n.Value);
                    break;
            }
        }

        bool tooMany = false;
        void TooMany(string part)
        {
            ok = false;
            if (tooMany) return; // said once, not once per further seed
            tooMany = true;
            problem($"Seeds gives more than {MaxSeeds} seeds in all (at '{part}'); one Seeds value may give at most {MaxSeeds}. Split the job if you mean it.");
        }

        AddOne(value, nested: false);
        return ok ? seeds : null;
    }

    [GeneratedRegex(@"^(?<from>\d+)(?:(?:-|\.\.)(?<to>\d+))?$")]
    private static partial Regex Range();

    [GeneratedRegex(@"\s*(-|\.\.)\s*")]
    private static partial Regex RangeSpaces();

    [GeneratedRegex(@"[,;\s]+")]
    private static partial Regex Separators();
}
