using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>Prompts × seeds × images per prompt, as Invoke-SdGeneration and render jobs both expand them.</summary>
public sealed class ImageRequestsTests
{
    [Fact]
    public void EachSeedGivesImagesPerPromptImagesWithSeedPlusJ()
    {
        var requests = ImageRequests.ForPrompt("a cat", "blurry", [5, 20], 2, firstIndex: 3).ToList();
        Assert.Equal([5L, 6, 20, 21], requests.Select(r => r.Seed));
        Assert.Equal([3, 4, 5, 6], requests.Select(r => r.Index));
        Assert.All(requests, r => Assert.Equal(("a cat", "blurry"), (r.Prompt, r.NegativePrompt)));
    }

    [Fact]
    public void ASeedSequencePastTheLargestSeedIsRefusedBeforeAnyRequest()
    {
        // Checked when ForPrompt is called, not when the sequence is enumerated: no partial plan.
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt("x", null, [long.MaxValue], 2, 0));
        Assert.Equal("SeedOutOfRange", e.ErrorId);
        Assert.Equal(long.MaxValue, e.Value);
        Assert.Contains("Seed 9223372036854775807 with 2 images per prompt", e.Message);
        Assert.Contains("at most 9223372036854775806", e.Message);
    }

    [Fact]
    public void TheLargestSeedItselfIsUsable()
    {
        var requests = ImageRequests.ForPrompt("x", null, [9223372036854775806], 2, 0).ToList();
        Assert.Equal([9223372036854775806L, 9223372036854775807L], requests.Select(r => r.Seed));
    }

    [Fact]
    public void ANegativeSeedIsRefused()
    {
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt("x", null, [-1], 1, 0));
        Assert.Equal("SeedOutOfRange", e.ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    [InlineData(int.MaxValue)]
    public void ImagesPerPromptOutsideItsRangeIsRefusedWithoutAllocating(int imagesPerPrompt)
    {
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt("x", null, [1], imagesPerPrompt, 0));
        Assert.Equal("ImagesPerPromptOutOfRange", e.ErrorId);
        Assert.Contains("1 to 10000", e.Message);
    }

    [Fact]
    public void SeedsTimesImagesPerPromptIsLimited()
    {
        var seeds = Enumerable.Range(0, 101).Select(i => (long)i * 100_000).ToList();
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt("x", null, seeds, 10_000, 0));
        Assert.Equal("TooManyImages", e.ErrorId);
        Assert.Contains("1010000 images", e.Message);
    }

    [Theory]
    [InlineData(@"a cat\0", "Prompt", "NUL character (U+0000) at position 6")]
    [InlineData(@"a \ud800 cat", "Prompt", "unpaired surrogate (U+D800) at position 3")]
    [InlineData(@"tail \udc00", "Prompt", "U+DC00")]
    public void PromptsAPngCannotRecordAreRefused(string escaped, string setting, string expected)
    {
        // Escaped in the attribute (metadata keeps strings as UTF-8, which cannot carry a lone surrogate).
        string prompt = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt(prompt, null, [1], 1, 0));
        Assert.Equal("UnsavableText", e.ErrorId);
        Assert.StartsWith(setting, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(prompt, e.Value);
    }

    [Fact]
    public void EverySdxlTextIsChecked()
    {
        var e = Assert.Throws<InvalidSettingException>(() => ImageRequests.ForPrompt("ok", "ok", "ok", "bad\0", [1], 1, 0));
        Assert.StartsWith("NegativePrompt2 ", e.Message);
    }

    [Fact]
    public void ASurrogatePairIsOneCharacterAndPasses()
    {
        var requests = ImageRequests.ForPrompt("a cat \U0001F431", "x", [1], 1, 0).ToList();
        Assert.Equal("a cat \uD83D\uDC31", Assert.Single(requests).Prompt);
    }
}
