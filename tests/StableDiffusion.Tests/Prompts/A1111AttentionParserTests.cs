using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Prompts;

/// <summary>
/// Inputs beyond the fixture, with expectations worked out by hand from A1111's parse_prompt_attention and Python's
/// re/float semantics.
/// </summary>
public sealed class A1111AttentionParserTests
{
    private static PromptFragment F(string text, double weight) => new(text, weight);

    [Fact]
    public void ABreakWeightedToMinusZeroMergesWithItsNeighbours()
    {
        // 1.0 * 0.0 = 0.0 and -1 * 0.0 = -0.0, and Python's 0.0 == -0.0: all three fragments merge into one.
        var parsed = A1111AttentionParser.Parse("(a BREAK b:0)");
        Assert.Equal([F("aBREAKb", 0.0)], parsed);
        Assert.False(parsed[0].IsBreak);
    }

    [Fact]
    public void ABreakWeightedBackToMinusOneIsABreakAgain()
    {
        // (x:1) multiplies by 1.0: the marker stays -1, so it still closes a chunk.
        Assert.Equal([F("a", 1.0), PromptFragment.Break, F("b", 1.0)], A1111AttentionParser.Parse("(a BREAK b:1)"));
    }

    [Fact]
    public void WeightsMayUseDigitsOfAnyScript()
    {
        // Python's \d and float() accept full-width digits: '１.５' is 1.5.
        Assert.Equal([F("a", 1.5)], A1111AttentionParser.Parse("(a:\uFF11.\uFF15)"));
    }

    [Fact]
    public void WeightsAllowSpacesInsideTheParenthesis()
    {
        Assert.Equal([F("a", 0.75)], A1111AttentionParser.Parse("(a: 0.75 )"));
    }

    [Fact]
    public void AWeightWithoutAnOpenParenthesisIsText()
    {
        Assert.Equal([F("x:1.5) y", 1.0)], A1111AttentionParser.Parse("x:1.5) y"));
    }

    [Theory]
    [InlineData("(a:1.2.3)", "1.2.3")]
    [InlineData("(a:.)", ".")]
    [InlineData("(a:+.)", "+.")]
    public void AWeightThatIsNotANumberSaysWhich(string prompt, string weight)
    {
        var e = Assert.Throws<PromptSyntaxException>(() => A1111AttentionParser.Parse(prompt));
        Assert.Equal(weight, e.Fragment);
        Assert.Contains($"'{weight}'", e.Message);
        Assert.Contains("(text:1.2)", e.Message);
    }

    [Fact]
    public void EscapesKeepTheCharacterAndALoneBackslashVanishes()
    {
        Assert.Equal([F("(x) [y] \\ z", 1.0)], A1111AttentionParser.Parse(@"\(x\) \[y\] \\ \z"));
        Assert.Equal([F("trailing ", 1.0)], A1111AttentionParser.Parse("trailing \\"));
    }

    [Fact]
    public void UnclosedBracketsApplyInOpeningOrder()
    {
        // "((a" → a × 1.1 × 1.1 (bottom of the stack first), "[(b" → b × 1.1 / 1.1.
        Assert.Equal([F("a", 1.1 * 1.1)], A1111AttentionParser.Parse("((a"));
        Assert.Equal([F("b", 1.1 * (1 / 1.1))], A1111AttentionParser.Parse("[(b"));
    }

    [Fact]
    public void BreakNeedsWordBoundariesAsPythonDefinesThem()
    {
        // '_' and letters of any script are word characters; a combining mark is not (in .NET it would be).
        Assert.Equal([F("x_BREAK y", 1.0)], A1111AttentionParser.Parse("x_BREAK y"));
        Assert.Equal([F("日本BREAK", 1.0)], A1111AttentionParser.Parse("日本BREAK"));
        Assert.Equal([F("e\u0301", 1.0), PromptFragment.Break, F("x", 1.0)], A1111AttentionParser.Parse("e\u0301BREAK x"));
    }

    [Fact]
    public void BreakSwallowsTheWhitespaceAroundIt()
    {
        Assert.Equal([F("a", 1.0), PromptFragment.Break, F("b", 1.0)], A1111AttentionParser.Parse("a \t\n BREAK\u3000 b"));
    }
}
