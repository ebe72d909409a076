using System.Globalization;
using System.Numerics;
using System.Text;

namespace StableDiffusion.Text;

/// <summary>
/// <c>ftfy.fix_text(text)</c> of ftfy 6.1.1 with its default <c>TextFixerConfig</c>, which is what transformers'
/// CLIPTokenizer applies to every prompt when ftfy is installed (the reference fixtures were made that way).
/// </summary>
/// <remarks>
/// Implemented, in ftfy's order and with its fixed-point loop (<c>fix_and_explain</c> repeats all steps until the
/// text stops changing): <c>unescape_html</c> ("auto": only while no '&lt;' has been seen), <c>fix_c1_controls</c>,
/// <c>fix_latin_ligatures</c>, <c>fix_character_width</c>, <c>uncurl_quotes</c>, <c>fix_line_breaks</c>,
/// <c>fix_surrogates</c>, <c>remove_terminal_escapes</c>, <c>remove_control_chars</c> and NFC normalisation, applied
/// per line segment as <c>fix_text</c> does.
/// Not implemented: <c>fix_encoding</c> (mojibake repair and its sub-steps restore_byte_a0, replace_lossy_sequences,
/// decode_inconsistent_utf8). It only changes text that ftfy's badness heuristic flags as mis-decoded UTF-8 (e.g.
/// "cafÃ©"); well-formed prompts pass through it unchanged. Python's unicodedata (Unicode 14) is replaced by .NET's
/// Unicode data for NFC and the width table, which only differs for characters assigned after Unicode 14.
/// </remarks>
internal static class FtfyTextFixer
{
    // ftfy TextFixerConfig.max_decode_length default.
    private const int MaxDecodeLength = 1_000_000;

    /// <summary><c>ftfy.fix_text(text)</c>: fixes each line (segment ending with '\n') separately.</summary>
    public static string FixText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new StringBuilder(text.Length);
        bool unescapeHtml = true; // "auto" until a segment containing '<' is seen; then off for the rest of the text.
        int pos = 0;
        while (pos < text.Length)
        {
            int textBreak = text.IndexOf('\n', pos) + 1;
            if (textBreak == 0) textBreak = text.Length;
            if (textBreak - pos > MaxDecodeLength) textBreak = pos + MaxDecodeLength;

            string segment = text[pos..textBreak];
            if (unescapeHtml && segment.Contains('<')) unescapeHtml = false;
            output.Append(FixSegment(segment, unescapeHtml));
            pos = textBreak;
        }

        return output.ToString();
    }

    /// <summary><c>ftfy.fix_and_explain</c> without the explanation: all fixes, repeated until nothing changes.</summary>
    internal static string FixSegment(string text, bool unescapeHtml)
    {
        // ftfy loops until a fixed point with no bound; the cap only guards against a pathological cycle.
        for (int iteration = 0; iteration < 100; iteration++)
        {
            string original = text;
            if (unescapeHtml) text = UnescapeHtml(text);
            text = FixC1Controls(text);
            text = FixLatinLigatures(text);
            text = FixCharacterWidth(text);
            text = UncurlQuotes(text);
            text = FixLineBreaks(text);
            text = FixSurrogates(text);
            text = RemoveTerminalEscapes(text);
            text = RemoveControlChars(text);
            text = text.Normalize(NormalizationForm.FormC);
            if (string.Equals(text, original, StringComparison.Ordinal))
                return text;
        }

        return text;
    }

    /// <summary>
    /// <c>fixes.unescape_html</c>: replaces matches of <c>&amp;#?[0-9A-Za-z]{1,24};</c> that are ftfy HTML entities
    /// (HTML5 names ending in ';', plus all-caps forms of lower-case names such as &amp;NTILDE;) or complete numeric
    /// character references (decoded like Python's html.unescape); anything else is left as is.
    /// </summary>
    internal static string UnescapeHtml(string text)
    {
        int amp = text.IndexOf('&');
        if (amp < 0) return text;

        var sb = new StringBuilder(text.Length);
        int copied = 0;
        for (int i = amp; i < text.Length; i++)
        {
            if (text[i] != '&') continue;
            int end = MatchEntity(text, i);
            if (end < 0) continue;

            string match = text[i..end];
            string replacement = ReplaceEntity(match);
            sb.Append(text, copied, i - copied).Append(replacement);
            copied = end;
            i = end - 1;
        }

        if (copied == 0) return text;
        sb.Append(text, copied, text.Length - copied);
        return sb.ToString();
    }

    // Returns the end index (exclusive) of a match of &#?[0-9A-Za-z]{1,24}; starting at 'start', or -1.
    private static int MatchEntity(string text, int start)
    {
        int j = start + 1;
        if (j < text.Length && text[j] == '#') j++;
        int alnumStart = j;
        while (j < text.Length && j - alnumStart < 24 && char.IsAsciiLetterOrDigit(text[j])) j++;
        int count = j - alnumStart;
        if (count == 0 || j >= text.Length || text[j] != ';') return -1;
        return j + 1;
    }

    private static string ReplaceEntity(string match)
    {
        if (HtmlEntityTable.Entities.TryGetValue(match, out string? named))
            return named;
        if (match.StartsWith("&#", StringComparison.Ordinal))
        {
            // ftfy: html.unescape(match), rejected if it did not consume the ';' (i.e. a ';' is still in the result).
            string? decoded = DecodeNumericReference(match.AsSpan(2, match.Length - 3));
            if (decoded is not null && !decoded.Contains(';'))
                return decoded;
        }

        return match;
    }

    // Python html._replace_charref for "#digits;" / "#xHEX;" when the whole body is numeric; null otherwise.
    private static string? DecodeNumericReference(ReadOnlySpan<char> body)
    {
        BigInteger value;
        if (body.Length >= 2 && (body[0] == 'x' || body[0] == 'X'))
        {
            ReadOnlySpan<char> hex = body[1..];
            foreach (char c in hex)
                if (!char.IsAsciiHexDigit(c)) return null;
            value = BigInteger.Parse("0" + hex.ToString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }
        else
        {
            foreach (char c in body)
                if (!char.IsAsciiDigit(c)) return null;
            value = BigInteger.Parse(body, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        if (value > 0x10FFFF) return "\uFFFD";
        int codePoint = (int)value;
        if (HtmlEntityTable.InvalidCharRefs.TryGetValue(codePoint, out string? remapped)) return remapped;
        if (codePoint is >= 0xD800 and <= 0xDFFF) return "\uFFFD";
        if (HtmlEntityTable.InvalidCodePoints.Contains(codePoint)) return string.Empty;
        return char.ConvertFromUtf32(codePoint);
    }

    /// <summary>
    /// <c>fixes.fix_c1_controls</c>: each C1 control U+0080–U+009F becomes the character its byte has in
    /// "sloppy" Windows-1252 (Windows-1252 where the five unassigned bytes stay Latin-1).
    /// </summary>
    internal static string FixC1Controls(string text)
    {
        if (!ContainsInRange(text, '\u0080', '\u009F')) return text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            sb.Append(c is >= '\u0080' and <= '\u009F' ? SloppyWindows1252[c - 0x80] : c);
        return sb.ToString();
    }

    // Windows-1252 0x80-0x9F; 0x81, 0x8D, 0x8F, 0x90 and 0x9D are unassigned there and decode as Latin-1.
    private static readonly char[] SloppyWindows1252 =
    [
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    ];

    /// <summary><c>fixes.fix_latin_ligatures</c>: ftfy's LIGATURES table (Latin ligatures and legacy digraphs).</summary>
    internal static string FixLatinLigatures(string text)
    {
        if (text.AsSpan().IndexOfAny(LigatureKeys) < 0) return text;
        var sb = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            if (Ligatures.TryGetValue(c, out string? expanded)) sb.Append(expanded);
            else sb.Append(c);
        }

        return sb.ToString();
    }

    private static readonly Dictionary<char, string> Ligatures = new()
    {
        ['\u0132'] = "IJ", ['\u0133'] = "ij",                       // Dutch ligatures
        ['\u0149'] = "\u02BCn",                                      // ŉ → ʼn (Afrikaans)
        ['\u01F1'] = "DZ", ['\u01F2'] = "Dz", ['\u01F3'] = "dz",     // Serbian/Croatian digraphs
        ['\u01C4'] = "D\u017D", ['\u01C5'] = "D\u017E", ['\u01C6'] = "d\u017E",
        ['\u01C7'] = "LJ", ['\u01C8'] = "Lj", ['\u01C9'] = "lj",
        ['\u01CA'] = "NJ", ['\u01CB'] = "Nj", ['\u01CC'] = "nj",
        ['\uFB00'] = "ff", ['\uFB01'] = "fi", ['\uFB02'] = "fl",     // typographic ligatures
        ['\uFB03'] = "ffi", ['\uFB04'] = "ffl", ['\uFB05'] = "\u017Ft", ['\uFB06'] = "st",
    };

    private static readonly System.Buffers.SearchValues<char> LigatureKeys =
        System.Buffers.SearchValues.Create(Ligatures.Keys.ToArray());

    /// <summary>
    /// <c>fixes.fix_character_width</c>: ftfy's WIDTH_MAP = U+3000 → ' ' plus NFKC of every code point in
    /// U+FF01–U+FFEF whose NFKC form differs (full-width ASCII → ASCII, half-width katakana/hangul → normal width).
    /// </summary>
    internal static string FixCharacterWidth(string text)
    {
        if (!ContainsInRange(text, '\uFF01', '\uFFEF') && !text.Contains('\u3000')) return text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c == '\u3000') sb.Append(' ');
            else if (c is >= '\uFF01' and <= '\uFFEF' && WidthMap[c - 0xFF01] is { } mapped) sb.Append(mapped);
            else sb.Append(c);
        }

        return sb.ToString();
    }

    private static readonly string?[] WidthMap = BuildWidthMap();

    private static string?[] BuildWidthMap()
    {
        var map = new string?[0xFFEF - 0xFF01 + 1];
        for (int i = 0xFF01; i <= 0xFFEF; i++)
        {
            string ch = ((char)i).ToString();
            // Unassigned code points in this block cannot be normalised by .NET; they map to themselves in ftfy too.
            if (CharUnicodeInfo.GetUnicodeCategory(ch, 0) == UnicodeCategory.OtherNotAssigned) continue;
            string alternate = ch.Normalize(NormalizationForm.FormKC);
            if (alternate != ch) map[i - 0xFF01] = alternate;
        }

        return map;
    }

    /// <summary>
    /// <c>fixes.uncurl_quotes</c>: U+2018–U+201B and U+02BC (modifier letter apostrophe) → ', U+201C–U+201F → ".
    /// </summary>
    internal static string UncurlQuotes(string text)
    {
        if (!ContainsInRange(text, '\u2018', '\u201F') && !text.Contains('\u02BC')) return text;
        return string.Create(text.Length, text, static (dest, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                char c = src[i];
                dest[i] = c switch
                {
                    '\u02BC' or (>= '\u2018' and <= '\u201B') => '\'',
                    >= '\u201C' and <= '\u201F' => '"',
                    _ => c,
                };
            }
        });
    }

    /// <summary><c>fixes.fix_line_breaks</c>: CRLF, CR, U+2028, U+2029 and U+0085 → '\n'.</summary>
    internal static string FixLineBreaks(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n')
            .Replace('\u2028', '\n').Replace('\u2029', '\n').Replace('\u0085', '\n');

    /// <summary>
    /// <c>fixes.fix_surrogates</c>: surrogate pairs become the code point they encode (a .NET string already reads
    /// them that way) and every unpaired surrogate becomes U+FFFD.
    /// </summary>
    internal static string FixSurrogates(string text)
    {
        if (!ContainsInRange(text, '\uD800', '\uDFFF')) return text;
        var chars = text.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
            else if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }

        return new string(chars);
    }

    /// <summary>
    /// <c>fixes.remove_terminal_escapes</c>: removes matches of <c>\x1b\[((?:\d|;)*)([a-zA-Z])</c>, where Python's
    /// <c>\d</c> is any Unicode decimal digit (category Nd), including those outside the BMP.
    /// </summary>
    internal static string RemoveTerminalEscapes(string text)
    {
        int esc = text.IndexOf('\u001B');
        if (esc < 0) return text;
        var sb = new StringBuilder(text.Length);
        int copied = 0;
        for (int i = esc; i < text.Length; i++)
        {
            if (text[i] != '\u001B' || i + 1 >= text.Length || text[i + 1] != '[') continue;
            int j = i + 2;
            while (j < text.Length)
            {
                if (text[j] == ';') { j++; continue; }
                if (Rune.DecodeFromUtf16(text.AsSpan(j), out Rune r, out int n) == System.Buffers.OperationStatus.Done
                    && Rune.GetUnicodeCategory(r) == UnicodeCategory.DecimalDigitNumber)
                {
                    j += n;
                    continue;
                }

                break;
            }

            if (j < text.Length && char.IsAsciiLetter(text[j]))
            {
                sb.Append(text, copied, i - copied);
                copied = j + 1;
                i = j;
            }
        }

        if (copied == 0) return text;
        sb.Append(text, copied, text.Length - copied);
        return sb.ToString();
    }

    /// <summary>
    /// <c>fixes.remove_control_chars</c>: deletes U+0000–U+0008, U+000B, U+000E–U+001F, U+007F, the deprecated
    /// Arabic format controls U+206A–U+206F, U+FEFF (byte order mark) and U+FFF9–U+FFFC; keeps \t \n \f \r.
    /// </summary>
    internal static string RemoveControlChars(string text)
    {
        if (text.AsSpan().IndexOfAny(ControlChars) < 0) return text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
            if (!ControlChars.Contains(c)) sb.Append(c);
        return sb.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> ControlChars = System.Buffers.SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B" +
        "\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        "\u007F\u206A\u206B\u206C\u206D\u206E\u206F\uFEFF\uFFF9\uFFFA\uFFFB\uFFFC");

    private static bool ContainsInRange(string text, char low, char high) =>
        text.AsSpan().IndexOfAnyInRange(low, high) >= 0;
}
