namespace StableDiffusion.Prompts;

/// <summary>
/// AUTOMATIC1111's emphasis syntax (<c>modules/prompt_parser.py</c> <c>parse_prompt_attention</c>, v1.10.1):
/// <c>(x)</c> ×1.1, <c>[x]</c> ÷1.1, <c>(x:w)</c> ×w, escapes <c>\( \) \[ \] \\</c>, a lone <c>\</c> dropped,
/// unclosed brackets applied to the end of the prompt, unmatched closers kept as text, <c>BREAK</c> as a marker,
/// and neighbouring fragments of equal weight merged.
/// </summary>
public static class A1111AttentionParser
{
    /// <summary>A1111's <c>round_bracket_multiplier</c>.</summary>
    public const double RoundBracketMultiplier = 1.1;

    /// <summary>A1111's <c>square_bracket_multiplier</c> (computed, as in Python, as 1 / 1.1).</summary>
    public const double SquareBracketMultiplier = 1 / 1.1;

    private const string BreakWord = "BREAK";

    /// <summary>Splits <paramref name="text"/> into fragments with weights, exactly as A1111.</summary>
    /// <exception cref="PromptSyntaxException">
    /// A weight such as <c>(a:.)</c> or <c>(a:1.2.3)</c> is not a number (A1111 raises ValueError on it).
    /// </exception>
    public static IReadOnlyList<PromptFragment> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var texts = new List<string>();
        var weights = new List<double>();
        var round = new Stack<int>();
        var square = new Stack<int>();

        void MultiplyFrom(int start, double multiplier)
        {
            for (int p = start; p < weights.Count; p++) weights[p] *= multiplier;
        }

        void AddText(string run)
        {
            bool first = true;
            foreach (string part in SplitOnBreak(run))
            {
                if (!first)
                {
                    texts.Add(BreakWord);
                    weights.Add(-1);
                }
                texts.Add(part);
                weights.Add(1.0);
                first = false;
            }
        }

        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\\')
            {
                // \( \) \[ \] \\ keep the second character; a backslash before anything else is dropped alone.
                if (i + 1 < text.Length && text[i + 1] is '(' or ')' or '[' or ']' or '\\')
                {
                    texts.Add(text[i + 1].ToString());
                    weights.Add(1.0);
                    i += 2;
                }
                else
                {
                    texts.Add("");
                    weights.Add(1.0);
                    i += 1;
                }
            }
            else if (c == '(')
            {
                round.Push(texts.Count);
                i++;
            }
            else if (c == '[')
            {
                square.Push(texts.Count);
                i++;
            }
            else if (c == ':')
            {
                int end = MatchWeight(text, i, out string? weight);
                if (weight is not null && round.Count > 0)
                {
                    double value = PythonRegexChars.ParseFloat(weight)
                        ?? throw new PromptSyntaxException(text, weight,
                            $"The emphasis weight '{weight}' in the prompt is not a number. Write a weight as (text:1.2), or escape the parenthesis as \\( \\) to use it literally.");
                    MultiplyFrom(round.Pop(), value);
                    i = end;
                }
                else if (weight is not null)
                {
                    AddText(text[i..end]); // ":1.2)" with no open parenthesis is plain text
                    i = end;
                }
                else
                {
                    AddText(":");
                    i++;
                }
            }
            else if (c == ')' && round.Count > 0)
            {
                MultiplyFrom(round.Pop(), RoundBracketMultiplier);
                i++;
            }
            else if (c == ']' && square.Count > 0)
            {
                MultiplyFrom(square.Pop(), SquareBracketMultiplier);
                i++;
            }
            else if (c is ')' or ']')
            {
                AddText(c.ToString());
                i++;
            }
            else
            {
                int end = i;
                while (end < text.Length && text[end] is not ('\\' or '(' or ')' or '[' or ']' or ':')) end++;
                AddText(text[i..end]);
                i = end;
            }
        }

        // Unclosed brackets apply to everything after them; Python iterates the stacks bottom to top.
        foreach (int start in round.Reverse()) MultiplyFrom(start, RoundBracketMultiplier);
        foreach (int start in square.Reverse()) MultiplyFrom(start, SquareBracketMultiplier);

        if (texts.Count == 0)
        {
            texts.Add("");
            weights.Add(1.0);
        }

        // Merge runs of identical weights (Python ==, so 0.0 and -0.0 merge too).
        var result = new List<PromptFragment> { new(texts[0], weights[0]) };
        for (int k = 1; k < texts.Count; k++)
        {
            if (result[^1].Weight == weights[k]) result[^1] = result[^1] with { Text = result[^1].Text + texts[k] };
            else result.Add(new PromptFragment(texts[k], weights[k]));
        }

        return result;
    }

    /// <summary>
    /// The regex alternative <c>:\s*([+-]?[.\d]+)\s*\)</c> at <paramref name="colon"/>: returns the end of the match and
    /// the weight text, or <paramref name="colon"/> + 1 and null when it does not match.
    /// </summary>
    private static int MatchWeight(string text, int colon, out string? weight)
    {
        weight = null;
        int i = SkipSpaces(text, colon + 1);
        int start = i;
        if (i < text.Length && text[i] is '+' or '-') i++;
        int digitsStart = i;
        while (i < text.Length)
        {
            var (cp, len) = PythonRegexChars.At(text, i);
            if (cp != '.' && !PythonRegexChars.IsDigit(cp)) break;
            i += len;
        }

        if (i == digitsStart) return colon + 1;
        int numberEnd = i;
        i = SkipSpaces(text, i);
        if (i >= text.Length || text[i] != ')') return colon + 1;
        weight = text[start..numberEnd];
        return i + 1;
    }

    private static int SkipSpaces(string text, int i)
    {
        while (i < text.Length)
        {
            var (cp, len) = PythonRegexChars.At(text, i);
            if (!PythonRegexChars.IsSpace(cp)) break;
            i += len;
        }
        return i;
    }

    /// <summary><c>re.split(r"\s*\bBREAK\b\s*", run, flags=re.S)</c>.</summary>
    private static List<string> SplitOnBreak(string run)
    {
        var parts = new List<string>();
        int partStart = 0;
        foreach (int at in PythonRegexChars.FindWholeWord(run, BreakWord))
        {
            if (at < partStart) continue; // inside the whitespace a previous match consumed
            int matchStart = at;
            while (matchStart > partStart && PythonRegexChars.IsSpace(PythonRegexChars.Before(run, matchStart)))
                matchStart -= char.IsLowSurrogate(run[matchStart - 1]) && matchStart >= 2 ? 2 : 1;
            int matchEnd = SkipSpaces(run, at + BreakWord.Length);
            parts.Add(run[partStart..matchStart]);
            partStart = matchEnd;
        }

        parts.Add(run[partStart..]);
        return parts;
    }
}
