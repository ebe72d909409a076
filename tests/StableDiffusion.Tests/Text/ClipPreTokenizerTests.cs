using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

/// <summary>
/// CLIP's pattern <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (regex module, IGNORECASE), applied with re.findall.
/// </summary>
public class ClipPreTokenizerTests
{
    private static string[] Split(string text) =>
        ClipPreTokenizer.Split(text).Select(s => text.Substring(s.Offset, s.Length)).ToArray();

    [Theory]
    [InlineData("a photo of a cat", new[] { "a", "photo", "of", "a", "cat" })]
    [InlineData("hello, world!", new[] { "hello", ",", "world", "!" })]
    [InlineData("don't we'll they're", new[] { "don", "'t", "we", "'ll", "they", "'re" })]
    [InlineData("the year 2023", new[] { "the", "year", "2", "0", "2", "3" })] // [\p{N}] is one digit at a time
    [InlineData("--beta --ar 2:3", new[] { "--", "beta", "--", "ar", "2", ":", "3" })]
    [InlineData("''s", new[] { "''", "s" })]                                  // alternation order, then greedy punctuation
    [InlineData("x<|endoftext|>y", new[] { "x", "<|endoftext|>", "y" })]
    [InlineData("!<|endoftext|>", new[] { "!<|", "endoftext", "|>" })]       // leftmost match wins, as in re.findall
    [InlineData("1girl", new[] { "1", "girl" })]
    public void SplitsLikeTheClipPattern(string text, string[] expected) => Assert.Equal(expected, Split(text));

    [Fact]
    public void LettersAndDigitsOutsideTheBmpAreLettersAndDigits()
    {
        // 𝒥 (U+1D4A5, Lu) and 𠀀 (U+20000, Lo) are \p{L}; 𝟏 (U+1D7CF, Nd) is \p{N}; 🐱 is neither.
        Assert.Equal(new[] { "\U0001D4A5ohn\U00020000", "\U0001D7CF", "\U0001F431!" }, Split("\U0001D4A5ohn\U00020000\U0001D7CF\U0001F431!"));
    }

    [Fact]
    public void IgnoreCaseLetsLongSMatchTheContraction()
    {
        // The regex module folds U+017F LATIN SMALL LETTER LONG S to 's' under IGNORECASE, so "'ſ" is the 's contraction.
        Assert.Equal(new[] { "it", "'\u017F" }, Split("it'\u017F"));
    }
}
