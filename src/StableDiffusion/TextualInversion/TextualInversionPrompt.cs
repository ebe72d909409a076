using StableDiffusion.Text;

namespace StableDiffusion.TextualInversion;

/// <summary>diffusers' <c>TextualInversionLoaderMixin.maybe_convert_prompt</c> for one prompt.</summary>
public static class TextualInversionPrompt
{
    /// <summary>
    /// Every added token the prompt names that has further vectors (<c>token_1</c>, …) is replaced by
    /// <c>"token token_1 … token_{n-1}"</c> with <c>str.replace</c> semantics: every occurrence, also inside a word
    /// (<c>x&lt;t&gt;y</c>). Tokens are taken in the order they first appear (diffusers iterates a set; the order only
    /// matters for tokens that contain each other). Without added tokens the prompt is returned unchanged.
    /// </summary>
    public static string Convert(ClipTokenizer tokenizer, string prompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        var added = tokenizer.AddedTokens;
        if (added.Count == 0) return prompt;
        var known = added.ToHashSet(StringComparer.Ordinal);
        foreach (string token in tokenizer.AddedTokensIn(prompt).Distinct(StringComparer.Ordinal))
        {
            var replacement = new System.Text.StringBuilder(token);
            for (int i = 1; known.Contains($"{token}_{i}"); i++) replacement.Append(' ').Append(token).Append('_').Append(i);
            if (replacement.Length > token.Length) prompt = prompt.Replace(token, replacement.ToString(), StringComparison.Ordinal);
        }
        return prompt;
    }
}
