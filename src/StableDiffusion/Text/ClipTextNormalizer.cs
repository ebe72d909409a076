using System.Text;
using Microsoft.ML.Tokenizers;

namespace StableDiffusion.Text;

/// <summary>
/// The text clean-up transformers' slow <c>CLIPTokenizer._tokenize</c> does when ftfy is installed:
/// <c>whitespace_clean(ftfy.fix_text(text)).lower()</c>, where whitespace_clean replaces every run of <c>\s</c>
/// (the regex module's Unicode White_Space) with one space and then strips. transformers does not apply the
/// <c>html.unescape</c> of openai/CLIP's <c>basic_clean</c>; only ftfy's own entity decoding happens.
/// </summary>
internal sealed class ClipTextNormalizer : Normalizer
{
    public static ClipTextNormalizer Instance { get; } = new();

    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        return PythonText.Lower(WhitespaceClean(FtfyTextFixer.FixText(original)));
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary><c>re.sub(r"\s+", " ", text).strip()</c> with the regex module's <c>\s</c>.</summary>
    internal static string WhitespaceClean(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool inRun = false;
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (PythonText.IsRegexWhiteSpace(rune.Value))
            {
                if (!inRun) sb.Append(' ');
                inRun = true;
            }
            else
            {
                PythonText.AppendRune(sb, rune);
                inRun = false;
            }
        }

        return PythonText.Strip(sb.ToString());
    }
}
