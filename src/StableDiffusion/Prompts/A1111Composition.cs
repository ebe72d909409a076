namespace StableDiffusion.Prompts;

/// <summary>
/// A1111's composable-diffusion syntax: <c>a cat :1.2 AND a dog:0.5</c> (<c>get_multicond_prompt_list</c>, v1.10.1).
/// A prompt splits at every whole word AND (<c>\bAND\b</c>, case-sensitive); each part may end in <c>:weight</c>. A part
/// keeps its leading spaces and loses its trailing ones, and equal parts (exact text) are encoded once.
/// </summary>
public static class A1111Composition
{
    private const string AndWord = "AND";

    /// <summary>Splits the prompts of one batch; sub-prompts are shared across the whole batch.</summary>
    public static ComposedPrompts Split(IEnumerable<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var parts = new List<IReadOnlyList<WeightedSubprompt>>();
        var flat = new List<string>();
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string prompt in prompts)
        {
            ArgumentNullException.ThrowIfNull(prompt, nameof(prompts));
            var these = new List<WeightedSubprompt>();
            foreach (string subprompt in SplitOnAnd(prompt))
            {
                var (text, weightText) = MatchWeight(subprompt);
                double weight = weightText is null
                    ? 1.0
                    : PythonRegexChars.ParseFloat(weightText)
                      ?? throw new InvalidOperationException($"The AND weight pattern matched '{weightText}', which is not a number."); // the pattern admits only numbers
                if (!indexes.TryGetValue(text, out int index))
                {
                    index = flat.Count;
                    flat.Add(text);
                    indexes[text] = index;
                }
                these.Add(new WeightedSubprompt(index, weight));
            }
            parts.Add(these);
        }
        return new ComposedPrompts(parts, flat);
    }

    /// <summary>Splits one prompt (see <see cref="Split(IEnumerable{string})"/>).</summary>
    public static ComposedPrompts Split(string prompt) => Split([prompt]);

    /// <summary><c>re.split(r"\bAND\b", prompt)</c>.</summary>
    private static List<string> SplitOnAnd(string prompt)
    {
        var parts = new List<string>();
        int start = 0;
        foreach (int at in PythonRegexChars.FindWholeWord(prompt, AndWord))
        {
            parts.Add(prompt[start..at]);
            start = at + AndWord.Length;
        }
        parts.Add(prompt[start..]);
        return parts;
    }

    /// <summary>
    /// <c>re.search(r"^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$", subprompt).groups()</c>: the shortest text
    /// followed either by <c>:weight</c> and trailing whitespace, or by trailing whitespace alone.
    /// </summary>
    private static (string Text, string? Weight) MatchWeight(string subprompt)
    {
        for (int k = 0; k <= subprompt.Length; k++)
        {
            if (IsInsidePair(subprompt, k)) continue; // Python indexes code points
            string? weight = WeightSuffix(subprompt, k);
            if (weight is not null) return (subprompt[..k], weight);
            if (IsSpaceToEnd(subprompt, k)) return (subprompt[..k], null);
        }
        return (subprompt, null); // unreachable: k = Length always matches
    }

    private static bool IsInsidePair(string s, int k) => k > 0 && k < s.Length && char.IsHighSurrogate(s[k - 1]) && char.IsLowSurrogate(s[k]);

    /// <summary>The weight text if <c>\s*:\s*NUMBER\s*$</c> matches from <paramref name="k"/>, else null.</summary>
    private static string? WeightSuffix(string s, int k)
    {
        int i = SkipSpaces(s, k);
        if (i >= s.Length || s[i] != ':') return null;
        i = SkipSpaces(s, i + 1);
        int start = i;
        if (i < s.Length && s[i] is '+' or '-') i++;
        int intStart = i;
        i = SkipDigits(s, i);
        bool hasInt = i > intStart;
        if (i < s.Length && s[i] == '.')
        {
            int fracEnd = SkipDigits(s, i + 1);
            // \d+\.? or \d*\.\d+
            if (hasInt || fracEnd > i + 1) i = fracEnd;
            else return null;
        }
        else if (!hasInt) return null;
        return IsSpaceToEnd(s, i) ? s[start..i] : null;
    }

    private static int SkipSpaces(string s, int i)
    {
        while (i < s.Length)
        {
            var (cp, len) = PythonRegexChars.At(s, i);
            if (!PythonRegexChars.IsSpace(cp)) break;
            i += len;
        }
        return i;
    }

    private static int SkipDigits(string s, int i)
    {
        while (i < s.Length)
        {
            var (cp, len) = PythonRegexChars.At(s, i);
            if (!PythonRegexChars.IsDigit(cp)) break;
            i += len;
        }
        return i;
    }

    private static bool IsSpaceToEnd(string s, int i) => SkipSpaces(s, i) == s.Length;
}
