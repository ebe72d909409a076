using System.Globalization;
using System.Text;
using StableDiffusion.Text;

namespace StableDiffusion.Prompts;

/// <summary>
/// Character classes of Python's <c>re</c> module on str patterns, which A1111's prompt regexes rely on
/// (.NET's <c>\w</c>/<c>\s</c> differ: .NET counts combining marks as word characters and omits U+001C–U+001F from <c>\s</c>).
/// All functions work on code points.
/// </summary>
internal static class PythonRegexChars
{
    /// <summary><c>\s</c>: <c>str.isspace()</c>.</summary>
    public static bool IsSpace(int codePoint) => PythonText.IsSpace(codePoint);

    /// <summary><c>\d</c>: Unicode category Nd.</summary>
    public static bool IsDigit(int codePoint) =>
        Rune.IsValid(codePoint) && Rune.GetUnicodeCategory(new Rune(codePoint)) == UnicodeCategory.DecimalDigitNumber;

    /// <summary><c>\w</c>: <c>str.isalnum()</c> (letters and numbers of every kind) or underscore.</summary>
    public static bool IsWord(int codePoint)
    {
        if (codePoint == '_') return true;
        if (!Rune.IsValid(codePoint)) return false;
        return Rune.GetUnicodeCategory(new Rune(codePoint)) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
            _ => false,
        };
    }

    /// <summary>The code point starting at <paramref name="index"/> and its UTF-16 length (a lone surrogate counts as itself).</summary>
    public static (int CodePoint, int Length) At(string text, int index)
    {
        if (char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
            return (char.ConvertToUtf32(text[index], text[index + 1]), 2);
        return (text[index], 1);
    }

    /// <summary>The code point ending just before <paramref name="end"/>.</summary>
    public static int Before(string text, int end)
    {
        if (char.IsLowSurrogate(text[end - 1]) && end >= 2 && char.IsHighSurrogate(text[end - 2]))
            return char.ConvertToUtf32(text[end - 2], text[end - 1]);
        return text[end - 1];
    }

    /// <summary>Whether <c>\b</c> holds at <paramref name="index"/>: a word character on exactly one side.</summary>
    public static bool IsWordBoundary(string text, int index)
    {
        bool before = index > 0 && IsWord(Before(text, index));
        bool after = index < text.Length && IsWord(At(text, index).CodePoint);
        return before != after;
    }

    /// <summary>
    /// Finds the non-overlapping matches of <c>\b</c><paramref name="word"/><c>\b</c> (an ASCII word), left to right,
    /// as <c>re.finditer</c> would.
    /// </summary>
    public static IEnumerable<int> FindWholeWord(string text, string word)
    {
        int from = 0;
        while (from <= text.Length - word.Length)
        {
            int at = text.IndexOf(word, from, StringComparison.Ordinal);
            if (at < 0) yield break;
            if (IsWordBoundary(text, at) && IsWordBoundary(text, at + word.Length))
            {
                yield return at;
                from = at + word.Length;
            }
            else from = at + 1;
        }
    }

    /// <summary>
    /// Python <c>float(text)</c> for text the prompt regexes matched (sign, digits of any script, '.', exponent);
    /// null where Python raises ValueError (e.g. "." or "1.2.3"). The result is the correctly rounded double, as in Python.
    /// </summary>
    public static double? ParseFloat(string text)
    {
        var ascii = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (IsDigit(rune.Value)) ascii.Append((char)('0' + (int)CharUnicodeInfo.GetDecimalDigitValue(rune.ToString(), 0)));
            else if (rune.Value < 128) ascii.Append((char)rune.Value);
            else return null;
        }

        string s = ascii.ToString();
        // Python's float literal grammar: [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]
        if (!System.Text.RegularExpressions.Regex.IsMatch(s, @"\A[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\z"))
            return null;
        return double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
