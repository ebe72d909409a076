using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Imaging;

/// <summary>The prompt syntax and A1111 options in PNG metadata: both forms round-trip them, and a foreign A1111 infotext reads as A1111.</summary>
public sealed class PromptSyntaxMetadataTests
{
    private static readonly GenerationParameters A1111NoNormPadded = new()
    {
        Prompt = "a (red:1.3) car, [cat:dog:0.5]",
        NegativePrompt = "(blurry:1.2)",
        Seed = 7, Steps = 20, GuidanceScale = 7.5f, Width = 64, Height = 64, Scheduler = "PNDMScheduler", Model = "tiny-sd",
        PromptSyntax = PromptSyntax.A1111,
        A1111 = new A1111Options { Emphasis = EmphasisMode.NoNorm, PadCondUncond = true },
    };

    [Fact]
    public void TheTextFormUsesA1111sFieldNames()
    {
        string text = A1111NoNormPadded.ToText();
        Assert.Contains("Prompt syntax: A1111", text);
        Assert.Contains("Emphasis: No norm", text);
        Assert.Contains("Pad conds: True", text);
        var back = GenerationParameters.FromText(text);
        Assert.Equal(PromptSyntax.A1111, back.PromptSyntax);
        Assert.Equal(EmphasisMode.NoNorm, back.A1111.Emphasis);
        Assert.True(back.A1111.PadCondUncond);
    }

    [Fact]
    public void TheJsonFormRoundTrips()
    {
        var back = GenerationParameters.FromJson(A1111NoNormPadded.ToJson());
        Assert.Equal(PromptSyntax.A1111, back.PromptSyntax);
        Assert.Equal(new A1111Options { Emphasis = EmphasisMode.NoNorm, PadCondUncond = true }, back.A1111);
    }

    [Fact]
    public void APlainImageStaysPlainInBothForms()
    {
        var plain = A1111NoNormPadded with { PromptSyntax = PromptSyntax.Plain, A1111 = A1111Options.Default };
        Assert.Contains("Prompt syntax: Plain", plain.ToText());
        Assert.DoesNotContain("prompt_syntax", plain.ToJson()); // a plain image's JSON (and render identity) is as before
        Assert.Equal(PromptSyntax.Plain, GenerationParameters.FromText(plain.ToText()).PromptSyntax);
        Assert.Equal(PromptSyntax.Plain, GenerationParameters.FromJson(plain.ToJson()).PromptSyntax);
    }

    [Fact]
    public void AnA1111InfotextIsA1111Syntax()
    {
        const string infotext = "a (red:1.3) sports car\nNegative prompt: (low quality:1.2)\n" +
            "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x512, Model: v1-5, Emphasis: No norm, Version: v1.10.1";
        var p = GenerationParameters.FromText(infotext);
        Assert.Equal(PromptSyntax.A1111, p.PromptSyntax);
        Assert.Equal(EmphasisMode.NoNorm, p.A1111.Emphasis);
        Assert.False(p.A1111.PadCondUncond);
    }

    [Fact]
    public void AnUnknownSyntaxIsAFormatError()
    {
        var e = Assert.Throws<FormatException>(() => GenerationParameters.FromText("x\nSteps: 2, Seed: 1, Prompt syntax: Compel"));
        Assert.Contains("Compel", e.Message);
    }
}
