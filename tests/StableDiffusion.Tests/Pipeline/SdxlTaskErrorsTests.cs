using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>SDXL combinations that cannot run are refused before any session runs, each naming the setting and the fix.</summary>
public sealed class SdxlTaskErrorsTests(SdxlFixture fixture) : IClassFixture<SdxlFixture>
{
    private static readonly ImageRequest[] One = [new("a photo of a cat", null, 1)];

    private static SourceImage Pattern() => SourceImageReader.Load(Path.Combine(Fixtures.Root, "tiny-sdxl-refiner", "expected",
        "pipeline-diffusers-0.35", "refiner_img2img", "init_image.png"));

    [Fact]
    public void TheFamiliesAreRecognisedFromTheFolders()
    {
        Assert.Equal(ModelFamily.StableDiffusionXL, fixture.Base.Family);
        Assert.Equal(ModelFamily.StableDiffusionXL, fixture.Refiner.Family);
        Assert.NotNull(fixture.Base.Tokenizer2);
        Assert.Null(fixture.Refiner.Tokenizer2); // the refiner's only tokenizer is tokenizer_2
        Assert.Equal(0, fixture.Refiner.Tokenizer.PadId); // "!" pads tokenizer_2
        Assert.Equal(5.0f, fixture.Base.DefaultGuidanceScale);
        Assert.True(fixture.Refiner.Model.RequiresAestheticsScore);
        Assert.False(fixture.Refiner.Model.ForceZerosForEmptyPrompt);
        Assert.True(fixture.Base.Model.VaeForceUpcast);
        Assert.Equal(0.13025f, fixture.Base.ScalingFactor);
    }

    [Fact]
    public void TheRefinerNeedsAnImageOrLatents()
    {
        var e = Assert.Throws<ArgumentException>(() => fixture.Refiner.Generate(One, new GenerationSettings { Steps = 2 }));
        Assert.Equal("InitImage", e.ParamName);
        Assert.Contains("refiner", e.Message);
    }

    [Fact]
    public void LatentsOfAnotherSizeAreRefused()
    {
        var latents = new LatentImage(new float[4 * 8 * 8], 4, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => fixture.Refiner.Generate(One,
            new GenerationSettings { Steps = 2, InitLatents = latents, DenoisingStart = 0.8, Width = 128 }));
        Assert.Equal("Width", e.ParamName);
        var channels = Assert.Throws<ArgumentException>(() => fixture.Refiner.Generate(One,
            new GenerationSettings { Steps = 2, InitLatents = new LatentImage(new float[9 * 64], 9, 8, 8), DenoisingStart = 0.8 }));
        Assert.Equal("InitLatents", channels.ParamName);
    }

    [Fact]
    public void DenoisingFractionsMustBeOrderedAndInside()
    {
        Assert.Equal("DenoisingStart", Assert.Throws<ArgumentException>(() => fixture.Base.Generate(One,
            new GenerationSettings { Steps = 2, DenoisingStart = 0.9, DenoisingEnd = 0.5, InitImage = Pattern() })).ParamName);
        Assert.Equal("DenoisingEnd", Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Base.Generate(One,
            new GenerationSettings { Steps = 2, DenoisingEnd = 1.0 })).ParamName);
    }

    [Fact]
    public void InpaintingAndImageWithLatentsAreRefused()
    {
        var image = Pattern();
        Assert.Equal("Mask", Assert.Throws<ArgumentException>(() => fixture.Base.Generate(One,
            new GenerationSettings { Steps = 2, InitImage = image, Mask = image })).ParamName);
        Assert.Equal("InitLatents", Assert.Throws<ArgumentException>(() => fixture.Base.Generate(One,
            new GenerationSettings { Steps = 2, InitImage = image, InitLatents = new LatentImage(new float[256], 4, 8, 8) })).ParamName);
    }

    /// <summary>diffusers' StableDiffusionXLImg2ImgPipeline defaults to strength 0.3 (SD 1.x's img2img: 0.8); recorded as run.</summary>
    [Fact]
    public void SdxlImageToImageDefaultsToStrength03()
    {
        var results = fixture.Base.Generate(One, new GenerationSettings { Steps = 10, GuidanceScale = 5, InitImage = Pattern() });
        try
        {
            Assert.Equal(0.3, results[0].Settings.Strength);
            Assert.Equal(3, results[0].Timings.Iterations); // int(10 × 0.3)
        }
        finally { foreach (var r in results) r.Dispose(); }
        // A default that leaves no step is refused like an explicit one.
        Assert.Equal("Strength", Assert.Throws<ArgumentException>(() => fixture.Base.Generate(One,
            new GenerationSettings { Steps = 3, InitImage = Pattern() })).ParamName);
    }

    /// <summary>SD 1.x/2.x run clip skip through a rewritten text encoder (the embeddings: ClipSkipPipelineTests).</summary>
    [Fact]
    public void ClipSkipOnAnSd1ModelRuns()
    {
        using var sd = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        var results = sd.Generate(One, new GenerationSettings { Steps = 2, Width = 64, Height = 64, Conditioning = new SdxlConditioning { ClipSkip = 1 } });
        try
        {
            Assert.Single(results);
            Assert.Equal(1, results[0].Settings.ClipSkip);
        }
        finally { foreach (var r in results) r.Dispose(); }
    }
}
