using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

/// <summary>
/// ftfy 6.1.1 fixers. Expected strings come from ftfy's docstrings/docs (quoted where used) or are derived by hand from
/// its source: ftfy/fixes.py, ftfy/chardata.py (LIGATURES, WIDTH_MAP, CONTROL_CHARS, HTML_ENTITY_RE
/// <c>&amp;#?[0-9A-Za-z]{1,24};</c>) and ftfy/__init__.py (fix_text segments, fix_and_explain's step order and loop).
/// </summary>
public class FtfyTextFixerTests
{
    // --- unescape_html (docstring examples of fixes.unescape_html) ---
    [Theory]
    [InlineData("&lt;tag&gt;", "<tag>")]
    [InlineData("&Jscr;ohn &HilbertSpace;ancock", "\U0001D4A5ohn \u210Bancock")]
    [InlineData("&checkmark;", "\u2713")]
    [InlineData("P&eacute;rez", "P\u00E9rez")]
    [InlineData("P&EACUTE;REZ", "P\u00C9REZ")]
    [InlineData("BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE")]
    [InlineData("&ntilde; &Ntilde; &NTILDE; &nTILDE;", "\u00F1 \u00D1 \u00D1 &nTILDE;")]
    public void UnescapeHtmlDocstringExamples(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.UnescapeHtml(input));

    [Theory]
    // Only entities ending in ';' are decoded ("this&not that" must not become "this¬ that", per the docstring).
    [InlineData("this&not that", "this&not that")]
    [InlineData("fish &amp chips", "fish &amp chips")]
    // Numeric references go through html.unescape: decimal, hex, and the Windows-1252 remapping of 0x80-0x9F
    // (CHANGELOG 5.0.1: "&#133;" as an ellipsis).
    [InlineData("it&#x2019;s", "it\u2019s")]
    [InlineData("&#65;&#X42;", "AB")]
    [InlineData("doo&#133;", "doo\u2026")]
    // A reference html.unescape only partly consumes, or whose result contains ';', is left alone (_unescape_fixup).
    [InlineData("&#12a;", "&#12a;")]
    [InlineData("&#59;", "&#59;")]
    // Out-of-range numbers become U+FFFD, surrogates too; invalid code points (e.g. 0x1) vanish (html._replace_charref).
    [InlineData("&#99999999999999999999;", "\uFFFD")]
    [InlineData("&#xD800;", "\uFFFD")]
    [InlineData("a&#1;b", "ab")]
    // More than 24 name characters never match the entity pattern.
    [InlineData("&aaaaaaaaaaaaaaaaaaaaaaaaa;", "&aaaaaaaaaaaaaaaaaaaaaaaaa;")]
    public void UnescapeHtmlOnlyDecodesCompleteReferences(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.UnescapeHtml(input));

    // --- fix_text: entity decoding is "auto" (off once a segment contains '<') ---
    [Fact]
    public void FixTextDecodesEntitiesOnlyWithoutAngleBrackets()
    {
        // ftfy.fix_text docstring: 'HTML entities &lt;3' → 'HTML entities <3'; '<em>HTML entities &lt;3</em>' unchanged.
        Assert.Equal("HTML entities <3", FtfyTextFixer.FixText("HTML entities &lt;3"));
        Assert.Equal("<em>HTML entities &lt;3</em>", FtfyTextFixer.FixText("<em>HTML entities &lt;3</em>"));
    }

    [Fact]
    public void AngleBracketDisablesEntitiesForThatAndLaterLinesOnly()
    {
        // fix_text replaces config.unescape_html with False when a segment (line) contains '<', for the rest of the text.
        Assert.Equal("<\n<b>&lt;", FtfyTextFixer.FixText("&lt;\n<b>&lt;"));
        Assert.Equal("<b>\n&lt;", FtfyTextFixer.FixText("<b>\n&lt;"));
    }

    [Fact]
    public void FixTextRepeatsUntilNothingChanges()
    {
        // TextFixerConfig docs (6.0 changelog/docs): "&amp;amp;" will become "&", not "&amp;" (fix_and_explain loops).
        Assert.Equal("&", FtfyTextFixer.FixText("&amp;amp;"));
    }

    [Fact]
    public void FixTextCombinesTheFixesInFtfyOrder()
    {
        // '\x01' removed, the ANSI escapes removed, &#x92; → U+2019 (html.unescape's Windows-1252 remap) → "'",
        // &#133; → U+2026 which NFC keeps (ftfy 6 no longer applies NFKC).
        Assert.Equal("I'm blue, da ba dee da ba doo\u2026",
            FtfyTextFixer.FixText("\u0001\u001b[36;44mI&#x92;m blue, da ba dee da ba doo&#133;\u001b[0m"));
    }

    // --- fix_c1_controls ---
    [Theory]
    [InlineData("\u0080", "\u20AC")]
    [InlineData("\u0093hi\u0094", "\u201Chi\u201D")]
    [InlineData("\u0081\u008D\u008F\u0090\u009D", "\u0081\u008D\u008F\u0090\u009D")] // unassigned in Windows-1252: sloppy codec keeps Latin-1
    [InlineData("\u0085", "\u2026")]
    public void FixC1ControlsUsesSloppyWindows1252(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.FixC1Controls(input));

    [Fact]
    public void NextLineControlBecomesEllipsisNotLineBreakInFixText()
    {
        // fix_c1_controls runs before fix_line_breaks in fix_and_explain, so U+0085 is read as Windows-1252 "…".
        Assert.Equal("a\u2026b", FtfyTextFixer.FixText("a\u0085b"));
    }

    // --- fix_latin_ligatures (docstring: "ﬂuﬃeﬆ" → "fluffiest") ---
    [Theory]
    [InlineData("\uFB02u\uFB03e\uFB06", "fluffiest")]
    [InlineData("\u0132sselmeer \u01C6ak", "IJsselmeer d\u017Eak")]
    [InlineData("\u00E6sthetic", "\u00E6sthetic")] // æ is intentionally not in LIGATURES
    public void FixLatinLigatures(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.FixLatinLigatures(input));

    [Fact]
    public void AfrikaansDigraphBecomesApostropheN()
    {
        // LIGATURES: 'ŉ' → "ʼn"; uncurl_quotes (SINGLE_QUOTE_RE includes U+02BC) then makes it "'n".
        Assert.Equal("\u02BCn", FtfyTextFixer.FixLatinLigatures("\u0149"));
        Assert.Equal("'n", FtfyTextFixer.FixText("\u0149"));
    }

    // --- fix_character_width (docstring examples) ---
    [Theory]
    [InlineData("\uFF2C\uFF2F\uFF35\uFF24\u3000\uFF2E\uFF2F\uFF29\uFF33\uFF25\uFF33", "LOUD NOISES")]
    [InlineData("\uFF35\uFF80\uFF70\uFF9D", "U\u30BF\u30FC\u30F3")]
    public void FixCharacterWidth(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.FixCharacterWidth(input));

    // --- uncurl_quotes (docstring: '\u201chere\u2019s a test\u201d' → '"here's a test"') ---
    [Theory]
    [InlineData("\u201Chere\u2019s a test\u201D", "\"here's a test\"")]
    [InlineData("\u2018\u2019\u201A\u201B\u02BC", "'''''")]
    [InlineData("\u201C\u201D\u201E\u201F", "\"\"\"\"")]
    [InlineData("\u00AB\u2039", "\u00AB\u2039")] // guillemets are not curly quotes
    public void UncurlQuotes(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.UncurlQuotes(input));

    // --- fix_line_breaks (docstring examples) ---
    [Theory]
    [InlineData("This string is made of two things:\u20291. Unicode\u20282. Spite", "This string is made of two things:\n1. Unicode\n2. Spite")]
    [InlineData("Content-type: text/plain\r\n\r\nHi.", "Content-type: text/plain\n\nHi.")]
    [InlineData("This is how Microsoft \r trolls Mac users", "This is how Microsoft \n trolls Mac users")]
    [InlineData("What is this \u0085 I don't even", "What is this \n I don't even")]
    public void FixLineBreaks(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.FixLineBreaks(input));

    // --- fix_surrogates (docstring: a valid pair gives 💩, reversed order gives two U+FFFD) ---
    [Fact]
    public void FixSurrogates()
    {
        Assert.Equal("\U0001F4A9", FtfyTextFixer.FixSurrogates("\uD83D\uDCA9"));
        Assert.Equal("\uFFFD\uFFFD", FtfyTextFixer.FixSurrogates("\uDCA9\uD83D"));
        Assert.Equal("a\uFFFDb", FtfyTextFixer.FixSurrogates("a\uD800b"));
    }

    // --- remove_terminal_escapes (docstring example) ---
    [Theory]
    [InlineData("\u001b[36;44mI'm blue, da ba dee da ba doo...\u001b[0m", "I'm blue, da ba dee da ba doo...")]
    [InlineData("\u001b[1;31;\u0661mred", "red")] // Python's \d is any Unicode decimal digit (here ARABIC-INDIC ONE)
    [InlineData("\u001b[12", "\u001b[12")]        // no final letter: not an escape sequence
    public void RemoveTerminalEscapes(string input, string expected) =>
        Assert.Equal(expected, FtfyTextFixer.RemoveTerminalEscapes(input));

    // --- remove_control_chars (docstring: U+00-08, 0B, 0E-1F, 7F, 206A-206F, FEFF, FFF9-FFFC removed;
    //     TAB, LF, FF, CR, C1 controls, joiners, bidi marks kept) ---
    [Fact]
    public void RemoveControlChars()
    {
        Assert.Equal("ab", FtfyTextFixer.RemoveControlChars("a\u0000\u0008\u000B\u000E\u001F\u007F\u206A\u206F\uFEFF\uFFF9\uFFFCb"));
        string kept = "\t\n\u000C\r\u0085\u200C\u200D\u200E\u202E\uFFFD";
        Assert.Equal(kept, FtfyTextFixer.RemoveControlChars(kept));
    }

    [Fact]
    public void ByteOrderMarkIsRemoved()
    {
        // remove_bom docstring: chr(0xfeff) + "Where do you want to go today?" → the text without the BOM.
        Assert.Equal("Where do you want to go today?", FtfyTextFixer.FixText("\uFEFFWhere do you want to go today?"));
    }

    // --- normalization="NFC" ---
    [Fact]
    public void FixTextAppliesNfcNotNfkc()
    {
        Assert.Equal("\u00E9", FtfyTextFixer.FixText("e\u0301"));
        Assert.Equal("10\u00B3 \u2122 \u2026", FtfyTextFixer.FixText("10\u00B3 \u2122 \u2026")); // NFKC would change these
    }

    [Fact]
    public void WellFormedTextIsUnchanged()
    {
        const string text = "Ünïcödé café — 日本語 🐱 naïve résumé, ΑΘΗΝΑ";
        Assert.Equal(text, FtfyTextFixer.FixText(text));
    }
}
