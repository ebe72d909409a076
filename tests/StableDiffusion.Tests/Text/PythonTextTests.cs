using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

/// <summary>Python 3.11 str semantics the CLIP reference relies on (CPython unicodeobject.c, Unicode SpecialCasing.txt).</summary>
public class PythonTextTests
{
    [Theory]
    [InlineData("A RED SPORTS CAR", "a red sports car")]
    [InlineData("\u0130stanbul", "i\u0307stanbul")]         // SpecialCasing: U+0130 → U+0069 U+0307 (full mapping)
    [InlineData("\u03A3\u0391\u03A3", "\u03C3\u03B1\u03C2")] // final sigma: ΣΑΣ → σας
    [InlineData("\u03A3", "\u03C3")]                         // no cased letter before it: not final
    [InlineData("A\u03A3.", "a\u03C2.")]                     // '.' is Case_Ignorable and not cased: final
    [InlineData("\u0391\u03A3'\u0391", "\u03B1\u03C3'\u03B1")] // apostrophe is skipped, a cased letter follows: not final
    [InlineData("\u0391\u03A3 \u0391", "\u03B1\u03C2 \u03B1")] // space is neither: final
    [InlineData("\U00010400", "\U00010428")]                 // Deseret (outside the BMP)
    [InlineData("\u1E9E", "\u00DF")]                         // capital sharp s
    public void LowerMatchesPython(string input, string expected) =>
        Assert.Equal(expected, PythonText.Lower(input));

    [Theory]
    [InlineData("  a b \u001F", "a b")]       // str.strip() treats U+001C-U+001F as whitespace
    [InlineData("\u00A0\u3000x\u2029", "x")]
    [InlineData("\u200Bx\u200B", "\u200Bx\u200B")] // ZERO WIDTH SPACE is not whitespace in Python
    public void StripMatchesPython(string input, string expected) =>
        Assert.Equal(expected, PythonText.Strip(input));

    [Theory]
    [InlineData("a  \t\n b", "a b")]
    [InlineData("a\u00A0\u2003\u202F\u205Fb", "a b")]   // the regex module's \s is Unicode White_Space
    [InlineData(" a\u200Bb ", "a\u200Bb")]
    [InlineData("a\u001Cb", "a\u001Cb")]               // ...which (unlike str.isspace) excludes U+001C
    public void WhitespaceCleanCollapsesRegexWhitespace(string input, string expected) =>
        Assert.Equal(expected, ClipTextNormalizer.WhitespaceClean(input));
}
