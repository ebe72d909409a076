using System.Text;

namespace StableDiffusion.Text;

/// <summary>
/// The few Python string semantics the CLIP reference depends on, reproduced on Unicode code points
/// (Python strings are sequences of code points; .NET strings are UTF-16, so everything here walks <see cref="Rune"/>s).
/// </summary>
internal static class PythonText
{
    /// <summary>
    /// Python 3.11 <c>str.lower()</c>: the full (not simple) lower-case mapping plus CPython's context rule for
    /// U+03A3 GREEK CAPITAL LETTER SIGMA (final sigma → ς). Only one unconditional full mapping exists in
    /// SpecialCasing.txt (U+0130 İ → "i̇", two code points); .NET's invariant mapping leaves İ unchanged, so it is
    /// special-cased. Every other code point's simple mapping equals <see cref="Rune.ToLowerInvariant"/> (checked over
    /// all code points against Python 3.11.2 when this was written).
    /// </summary>
    public static string Lower(string text)
    {
        var sb = new StringBuilder(text.Length);
        int index = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case 0x0130:
                    sb.Append("i\u0307");
                    break;
                case 0x03A3:
                    sb.Append(IsFinalSigma(text, index, rune.Utf16SequenceLength) ? '\u03C2' : '\u03C3');
                    break;
                default:
                    AppendRune(sb, Rune.ToLowerInvariant(rune));
                    break;
            }

            index += rune.Utf16SequenceLength;
        }

        return sb.ToString();
    }

    /// <summary>Python <c>str.isspace()</c> (bidirectional class WS/B/S or category Zs), used by <c>str.strip()</c>.</summary>
    public static bool IsSpace(int codePoint) => codePoint switch
    {
        >= 0x09 and <= 0x0D => true,
        >= 0x1C and <= 0x20 => true,
        0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>
    /// The <c>regex</c> module's <c>\s</c> for str patterns: the Unicode White_Space property (unlike <c>str.isspace</c>
    /// it excludes U+001C–U+001F). Used by CLIP's whitespace_clean and by the pre-tokenizer pattern.
    /// </summary>
    public static bool IsRegexWhiteSpace(int codePoint) => codePoint switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>Python <c>str.strip()</c> without arguments.</summary>
    public static string Strip(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && TryReadRune(text, start, out Rune r) && IsSpace(r.Value)) start += r.Utf16SequenceLength;
        while (end > start && TryReadRuneBefore(text, end, out Rune r) && IsSpace(r.Value)) end -= r.Utf16SequenceLength;
        return start == 0 && end == text.Length ? text : text[start..end];
    }

    public static void AppendRune(StringBuilder sb, Rune rune)
    {
        if (rune.IsBmp) sb.Append((char)rune.Value);
        else
        {
            Span<char> pair = stackalloc char[2];
            rune.EncodeToUtf16(pair);
            sb.Append(pair);
        }
    }

    private static bool TryReadRune(string text, int index, out Rune rune) =>
        Rune.DecodeFromUtf16(text.AsSpan(index), out rune, out _) == System.Buffers.OperationStatus.Done;

    private static bool TryReadRuneBefore(string text, int end, out Rune rune) =>
        Rune.DecodeLastFromUtf16(text.AsSpan(0, end), out rune, out _) == System.Buffers.OperationStatus.Done;

    /// <summary>
    /// CPython's handle_capital_sigma: the sigma at <paramref name="index"/> is final when a cased letter precedes it
    /// (skipping case-ignorable code points) and no cased letter follows it (again skipping case-ignorables).
    /// </summary>
    private static bool IsFinalSigma(string text, int index, int length)
    {
        int j = index;
        int before = -1;
        while (j > 0 && Rune.DecodeLastFromUtf16(text.AsSpan(0, j), out Rune r, out int n) != System.Buffers.OperationStatus.InvalidData)
        {
            j -= n;
            if (!InRanges(PythonCaseContextTable.CaseIgnorable, r.Value))
            {
                before = r.Value;
                break;
            }
        }

        if (before < 0 || !InRanges(PythonCaseContextTable.Cased, before))
            return false;

        j = index + length;
        while (j < text.Length && Rune.DecodeFromUtf16(text.AsSpan(j), out Rune r, out int n) != System.Buffers.OperationStatus.InvalidData)
        {
            j += n;
            if (!InRanges(PythonCaseContextTable.CaseIgnorable, r.Value))
                return !InRanges(PythonCaseContextTable.Cased, r.Value);
        }

        return true;
    }

    private static bool InRanges((int First, int Last)[] ranges, int codePoint)
    {
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < ranges[mid].First) hi = mid - 1;
            else if (codePoint > ranges[mid].Last) lo = mid + 1;
            else return true;
        }

        return false;
    }
}
