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
    public void ASeedThatOverflowsIsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ImageRequests.ForPrompt("x", null, [long.MaxValue], 2, 0).ToList());
        Assert.Contains($"Seed {long.MaxValue} + 1 is too large", e.Message);
    }
}
