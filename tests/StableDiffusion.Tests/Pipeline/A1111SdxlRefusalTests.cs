using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>A1111 prompts on SDXL (two text encoders, pooled embeddings) are refused by name, not encoded with one encoder.</summary>
public sealed class A1111SdxlRefusalTests(SdxlFixture fixture) : IClassFixture<SdxlFixture>
{
    [Fact]
    public void AnSdxlModelRefusesA1111Prompts()
    {
        var e = Assert.Throws<InvalidSettingException>(() => fixture.Base.Generate([new("a (cat:1.2)", null, 1)],
            new GenerationSettings { Steps = 1, Width = 64, Height = 64, PromptSyntax = PromptSyntax.A1111 }));
        Assert.Equal("PromptSyntaxUnsupported", e.ErrorId);
        Assert.Contains("Plain", e.Message);
    }
}
