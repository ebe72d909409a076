namespace StableDiffusion.Prompts;

/// <summary>
/// AUTOMATIC1111 v1.10.1's extra-network tags (modules/extra_networks.py): every match of <c>&lt;(\w+):([^&gt;]+)&gt;</c>
/// (Python's Unicode <c>\w</c>) is removed from the prompt and recorded under its type with its ':'-split arguments.
/// </summary>
public static class A1111ExtraNetworks
{
    /// <summary><c>parse_prompt</c>: the prompt without its tags, and the tags per network type.</summary>
    public static ExtraNetworkPrompt Parse(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var text = new System.Text.StringBuilder(prompt.Length);
        var networks = new Dictionary<string, List<ExtraNetworkParams>>(StringComparer.Ordinal);
        int i = 0;
        while (i < prompt.Length)
        {
            if (prompt[i] == '<' && TryMatch(prompt, i, out string type, out string args, out int end))
            {
                if (!networks.TryGetValue(type, out var list)) networks[type] = list = [];
                list.Add(new ExtraNetworkParams(args.Split(':')));
                i = end;
                continue;
            }
            text.Append(prompt[i]);
            i++;
        }
        return new ExtraNetworkPrompt(text.ToString(),
            networks.ToDictionary(n => n.Key, n => (IReadOnlyList<ExtraNetworkParams>)n.Value, StringComparer.Ordinal));
    }

    /// <summary>
    /// <c>parse_prompts</c>: every prompt of a batch loses its tags, but only the first prompt's tags are activated
    /// (A1111 keeps the extra-network data of the first prompt it parses).
    /// </summary>
    public static (IReadOnlyList<string> Texts, ExtraNetworkPrompt? First) ParseBatch(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var parsed = prompts.Select(Parse).ToList();
        return (parsed.Select(p => p.Text).ToList(), parsed.Count == 0 ? null : parsed[0]);
    }

    /// <summary>The regex at <paramref name="start"/> ('&lt;'): \w+ then ':' then one or more non-'&gt;' then '&gt;'.</summary>
    private static bool TryMatch(string prompt, int start, out string type, out string args, out int end)
    {
        type = args = "";
        end = start;
        int p = start + 1;
        while (p < prompt.Length)
        {
            var (codePoint, length) = PythonRegexChars.At(prompt, p);
            if (!PythonRegexChars.IsWord(codePoint)) break;
            p += length;
        }
        if (p == start + 1 || p >= prompt.Length || prompt[p] != ':') return false;
        int close = prompt.IndexOf('>', p + 1);
        if (close <= p + 1) return false; // no '>' at all, or nothing between ':' and '>'
        type = prompt[(start + 1)..p];
        args = prompt[(p + 1)..close];
        end = close + 1;
        return true;
    }
}
