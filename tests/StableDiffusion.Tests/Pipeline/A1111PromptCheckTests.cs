using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The check cmdlets and render jobs run on A1111 prompts before any model work.</summary>
public sealed class A1111PromptCheckTests
{
    [Fact]
    public void AndCompositionIsRefusedByName()
    {
        var e = Assert.Throws<InvalidSettingException>(() => A1111PromptEncodingStage.Check(new ImageRequest("a cat AND a dog", null, 0), 20, EmphasisMode.Original));
        Assert.Equal("A1111CompositionUnsupported", e.ErrorId);
        Assert.Equal("a cat AND a dog", e.Value);
    }

    [Fact]
    public void TheNegativePromptIsNotSplitAtAnd()
    {
        // A1111 encodes the negative prompt with get_learned_conditioning: "AND" there is a word.
        A1111PromptEncodingStage.Check(new ImageRequest("a cat", "ugly AND blurry", 0), 20, EmphasisMode.Original);
    }

    [Theory]
    [InlineData("a (cat:.) photo", null)]
    [InlineData("a cat", "(x:1.2.3)")]
    [InlineData("a [cat:dog:1e999]", null)]
    public void APromptA1111RejectsIsAPromptSyntaxError(string prompt, string? negative)
    {
        Assert.Throws<PromptSyntaxException>(() => A1111PromptEncodingStage.Check(new ImageRequest(prompt, negative, 0), 20, EmphasisMode.Original));
    }

    [Fact]
    public void EmphasisNoneReadsBracketsLiterally()
    {
        A1111PromptEncodingStage.Check(new ImageRequest("a (cat:.) photo", null, 0), 20, EmphasisMode.None);
    }

    [Fact]
    public void ExtraNetworkTagsPassThroughTheParser()
    {
        // LoRA tags are another engineer's: here they must only not break the A1111 path.
        A1111PromptEncodingStage.Check(new ImageRequest("a cat <lora:style:0.8>, (red:1.2)", null, 0), 20, EmphasisMode.Original);
    }
}
