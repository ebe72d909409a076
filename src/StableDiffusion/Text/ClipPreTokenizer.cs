using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace StableDiffusion.Text;

/// <summary>
/// CLIP's pre-tokenizer: <c>re.findall</c> of
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// with <c>re.IGNORECASE</c>, as compiled by the Python <c>regex</c> module.
/// </summary>
/// <remarks>
/// Written as a scanner over code points instead of a .NET <see cref="System.Text.RegularExpressions.Regex"/>, because
/// .NET regexes see UTF-16 code units: a letter or digit outside the BMP (e.g. CJK Extension B, 𝒥) is a surrogate
/// pair there and would fall into the punctuation class. IGNORECASE matters only for the literal letters of the
/// pattern; in the regex module 's' also matches U+017F LATIN SMALL LETTER LONG S (its case fold), the only
/// non-ASCII equivalent of any letter in the pattern.
/// </remarks>
internal sealed class ClipPreTokenizer : PreTokenizer
{
    public static ClipPreTokenizer Instance { get; } = new();

    private static readonly string[] SpecialWords = ["<|startoftext|>", "<|endoftext|>"];
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Split(text);
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    /// <summary>The (offset, length) of every match, in UTF-16 units of <paramref name="text"/>.</summary>
    internal static List<(int Offset, int Length)> Split(string text)
    {
        var result = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int length = MatchLiteral(text, i, SpecialWords);
            if (length == 0) length = MatchLiteral(text, i, Contractions);
            if (length == 0)
            {
                Rune rune = RuneAt(text, i);
                CharClass cls = Classify(rune);
                if (cls == CharClass.Letter) length = RunLength(text, i, CharClass.Letter);
                else if (cls == CharClass.Number) length = rune.Utf16SequenceLength;
                else if (cls == CharClass.Other) length = RunLength(text, i, CharClass.Other);
                else
                {
                    i += rune.Utf16SequenceLength; // whitespace is never part of a match
                    continue;
                }
            }

            result.Add((i, length));
            i += length;
        }

        return result;
    }

    private enum CharClass { Letter, Number, WhiteSpace, Other }

    private static CharClass Classify(Rune rune)
    {
        if (PythonText.IsRegexWhiteSpace(rune.Value)) return CharClass.WhiteSpace;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    // A lone surrogate decodes as U+FFFD of length 1 (class Other), as an unpaired surrogate code point is in Python.
    private static Rune RuneAt(string text, int index)
    {
        Rune.DecodeFromUtf16(text.AsSpan(index), out Rune rune, out _);
        return rune;
    }

    private static int RunLength(string text, int start, CharClass cls)
    {
        int j = start;
        while (j < text.Length)
        {
            Rune r = RuneAt(text, j);
            if (Classify(r) != cls) break;
            j += r.Utf16SequenceLength;
        }

        return j - start;
    }

    private static int MatchLiteral(string text, int start, string[] literals)
    {
        foreach (string literal in literals)
        {
            if (start + literal.Length > text.Length) continue;
            bool ok = true;
            for (int k = 0; k < literal.Length && ok; k++)
                ok = CaseInsensitiveEquals(text[start + k], literal[k]);
            if (ok) return literal.Length;
        }

        return 0;
    }

    // The regex module's IGNORECASE equivalence for the pattern's literal characters (all ASCII).
    private static bool CaseInsensitiveEquals(char c, char patternChar)
    {
        if (c == patternChar) return true;
        if (char.IsAsciiLetter(patternChar) && char.IsAsciiLetter(c) && (c | 0x20) == patternChar) return true;
        return patternChar == 's' && c == '\u017F';
    }
}
