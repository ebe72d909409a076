using System.Text.Json.Nodes;
using StableDiffusion.Imaging;
using StableDiffusion.Jobs;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Jobs;

/// <summary>An image's identity follows what decides its pixels, and nothing else.</summary>
public sealed class RenderIdentityTests
{
    private static readonly GenerationParameters Base = new()
    {
        Prompt = "a red fox",
        NegativePrompt = null,
        Seed = 42,
        Index = 3,
        Steps = 20,
        GuidanceScale = 7.5f,
        Width = 512,
        Height = 512,
        Scheduler = "EulerDiscreteScheduler",
        SchedulerOptions = new Dictionary<string, object?> { ["timestep_spacing"] = JsonValue.Create("trailing"), ["use_karras_sigmas"] = JsonValue.Create(true) },
        Model = "sd15",
    };

    public static TheoryData<string, GenerationParameters> Changes() => new()
    {
        { "prompt", Base with { Prompt = "a red fox " } },
        { "negative prompt", Base with { NegativePrompt = "blurry" } },
        { "seed", Base with { Seed = 43 } },
        { "steps", Base with { Steps = 21 } },
        { "guidance", Base with { GuidanceScale = 7.0f } },
        { "guidance rescale", Base with { GuidanceRescale = 0.7f } },
        { "eta", Base with { Eta = 1f } },
        { "width", Base with { Width = 768 } },
        { "height", Base with { Height = 768 } },
        { "scheduler", Base with { Scheduler = "EulerAncestralDiscreteScheduler" } },
        { "scheduler option", Base with { SchedulerOptions = new Dictionary<string, object?> { ["timestep_spacing"] = JsonValue.Create("leading"), ["use_karras_sigmas"] = JsonValue.Create(true) } } },
        { "model", Base with { Model = "sd21" } },
        { "vae", Base with { Vae = "sd-vae-ft-mse" } },
        { "precision", Base with { Precision = "float16" } },
        { "init image", Base with { InitImage = new SourceImageRecord("in.png", new string('a', 64)) } },
        { "init image pixels", Base with { InitImage = new SourceImageRecord("in.png", new string('b', 64)) } },
        { "mask", Base with { Mask = new SourceImageRecord("m.png", new string('c', 64)) } },
        { "strength", Base with { Strength = 0.8 } },
        { "mask crop padding", Base with { MaskCropPadding = 8 } },
        { "prompt 2", Base with { Prompt2 = "stormy sky" } },
        { "negative prompt 2", Base with { NegativePrompt2 = "people" } },
        { "clip skip", Base with { Conditioning = new SdxlConditioning { ClipSkip = 1 } } },
        { "original size", Base with { Conditioning = new SdxlConditioning { OriginalSize = new HeightWidth(1024, 1024) } } },
        { "crop", Base with { Conditioning = new SdxlConditioning { CropTopLeft = new TopLeft(16, 32) } } },
        { "target size", Base with { Conditioning = new SdxlConditioning { TargetSize = new HeightWidth(512, 512) } } },
        { "negative original size", Base with { Conditioning = new SdxlConditioning { NegativeOriginalSize = new HeightWidth(256, 256) } } },
        { "negative crop", Base with { Conditioning = new SdxlConditioning { NegativeCropTopLeft = new TopLeft(0, 0) } } },
        { "negative target size", Base with { Conditioning = new SdxlConditioning { NegativeTargetSize = new HeightWidth(1024, 1024) } } },
        { "aesthetic score", Base with { Conditioning = new SdxlConditioning { AestheticScore = 6.5 } } },
        { "negative aesthetic score", Base with { Conditioning = new SdxlConditioning { NegativeAestheticScore = 2 } } },
    };

    [Fact]
    public void SdxlKeysAppearOnlyWhenSet()
    {
        Assert.DoesNotContain("clip_skip", RenderIdentity.Canonical(Base)); // SD 1.x/2.x identities are unchanged
        Assert.Contains("\"original_size\":[1024,768]", RenderIdentity.Canonical(Base with { Conditioning = new SdxlConditioning { OriginalSize = new HeightWidth(1024, 768) } }));
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public void ChangesWithEverythingThatDecidesThePixels(string what, GenerationParameters changed)
    {
        Assert.NotEqual(RenderIdentity.Compute(Base), RenderIdentity.Compute(changed));
        _ = what;
    }

    [Fact]
    public void IgnoresThePositionAndTheOrderOfOptionsAndTreatsNoNegativePromptAsEmpty()
    {
        string id = RenderIdentity.Compute(Base);
        Assert.Equal(id, RenderIdentity.Compute(Base with { Index = 99 }));
        Assert.Equal(id, RenderIdentity.Compute(Base with { NegativePrompt = "" }));
        var reordered = new Dictionary<string, object?> { ["use_karras_sigmas"] = true, ["timestep_spacing"] = "trailing" };
        Assert.Equal(id, RenderIdentity.Compute(Base with { SchedulerOptions = reordered }));
    }

    [Fact]
    public void InputImagesCountByTheirPixelsNotTheirFileNames()
    {
        var img2img = Base with { InitImage = new SourceImageRecord("in.png", new string('a', 64)), Strength = 0.75 };
        Assert.Equal(RenderIdentity.Compute(img2img), RenderIdentity.Compute(img2img with { InitImage = new SourceImageRecord("renamed.png", new string('a', 64)) }));
        Assert.Contains($"\"init_image_sha256\":\"{new string('a', 64)}\"", RenderIdentity.Canonical(img2img));
        Assert.DoesNotContain("init_image", RenderIdentity.Canonical(Base)); // text-to-image identities are unchanged
    }

    [Fact]
    public void IsA128BitHexDigestOfTheCanonicalText()
    {
        string id = RenderIdentity.Compute(Base);
        Assert.Matches("^[0-9a-f]{32}$", id);
        string canonical = RenderIdentity.Canonical(Base);
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical));
        Assert.Equal(Convert.ToHexString(digest)[..32].ToLowerInvariant(), id);
        Assert.Contains("\"prompt\":\"a red fox\"", canonical);
        Assert.Contains("\"scheduler_options\":{\"timestep_spacing\":\"trailing\",\"use_karras_sigmas\":true}", canonical);
    }
}
