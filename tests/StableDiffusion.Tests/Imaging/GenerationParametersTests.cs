using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Imaging;

/// <summary>The image-to-image and inpainting fields of the PNG metadata: both text forms, and A1111's own field.</summary>
public sealed class GenerationParametersTests : IDisposable
{
    private const string InitSha = "3bd3bf292f7413f503ba4b5436c97999c14178e5a6ce3c9d7c7a25eb44ed66cf";
    private const string MaskSha = "606848507a1d61a9a1d684ab881b283971b63b453054cd6533d8162b9aede0fb";

    private static readonly GenerationParameters Inpaint = new()
    {
        Prompt = "a red apple, on a table",
        Seed = 100,
        Steps = 20,
        GuidanceScale = 7.5f,
        Width = 64,
        Height = 64,
        Scheduler = "PNDMScheduler",
        Model = "tiny-sd-inpaint",
        InitImage = new SourceImageRecord("photo, with comma.png", InitSha),
        Mask = new SourceImageRecord("mask.png", MaskSha),
        Strength = 0.75,
        MaskCropPadding = 8,
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("sd-params-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A1111TextNamesTheStrengthAndTheInputImages()
    {
        string text = Inpaint.ToText();
        Assert.Contains("Denoising strength: 0.75", text);
        Assert.Contains($"Init image: \"photo, with comma.png (sha256:{InitSha})\"", text); // a comma in the name is quoted
        Assert.Contains($"Mask: mask.png (sha256:{MaskSha})", text);
        Assert.Contains("Mask crop padding: 8", text);
    }

    [Fact]
    public void TextToImageWritesNoneOfTheImageFields()
    {
        var plain = Inpaint with { InitImage = null, Mask = null, Strength = null, MaskCropPadding = null };
        Assert.DoesNotContain("strength", plain.ToText(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Mask", plain.ToText());
        var back = GenerationParameters.FromJson(plain.ToJson());
        Assert.Null(back.InitImage);
        Assert.Null(back.Mask);
        Assert.Null(back.Strength);
        Assert.Null(back.MaskCropPadding);
    }

    [Fact]
    public void BothFormsRoundTripThroughAPng()
    {
        string path = Path.Combine(_folder, "inpaint.png");
        using (var image = new Image<Rgb24>(8, 8, new Rgb24(1, 2, 3)))
            PngFile.SaveWithText(image, path, new Dictionary<string, string> { [GenerationParameters.TextKey] = Inpaint.ToText(), [GenerationParameters.JsonKey] = Inpaint.ToJson() });
        var chunks = PngFile.ReadText(path);
        foreach (var back in new[] { GenerationParameters.Parse(chunks), GenerationParameters.FromText(chunks[GenerationParameters.TextKey]) })
        {
            Assert.Equal(Inpaint.InitImage, back.InitImage);
            Assert.Equal(Inpaint.Mask, back.Mask);
            Assert.Equal(0.75, back.Strength);
            Assert.Equal(8, back.MaskCropPadding);
            Assert.Equal(Inpaint.Prompt, back.Prompt);
        }
    }

    [Fact]
    public void AnImageWithoutAFileNameIsRecordedByItsHash()
    {
        var record = new SourceImageRecord(null, InitSha);
        Assert.Equal($"sha256:{InitSha}", record.ToString());
        Assert.Equal(record, SourceImageRecord.Parse(record.ToString(), "Init image"));
        var back = GenerationParameters.FromText((Inpaint with { InitImage = record }).ToText());
        Assert.Equal(record, back.InitImage);
    }

    [Fact]
    public void A1111DenoisingStrengthIsTheStrength()
    {
        const string a1111 = "a castle on a hill\nNegative prompt: blurry\n" +
            "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: abc, Model: sd15, Denoising strength: 0.6, Mask blur: 4";
        var p = GenerationParameters.FromText(a1111);
        Assert.Equal(0.6, p.Strength);
        Assert.Null(p.InitImage); // A1111 does not record its init image
        Assert.Null(p.Mask);      // "Mask blur" is not a mask
        Assert.Equal("DPM++ 2M Karras", p.Scheduler);
        Assert.Equal(1234, p.Seed);
    }

    [Fact]
    public void TheHiresFixDenoisingStrengthOfTextToImageIsNotAStrength()
    {
        var p = GenerationParameters.FromText("x\nSteps: 20, Seed: 1, Size: 512x512, Denoising strength: 0.7, Hires upscale: 2, Hires upscaler: Latent");
        Assert.Null(p.Strength);
    }

    [Fact]
    public void AStrengthThatIsNoNumberIsAFormatError()
    {
        var e = Assert.Throws<FormatException>(() => GenerationParameters.FromText("x\nSteps: 20, Seed: 1, Denoising strength: strong"));
        Assert.Contains("Denoising strength: strong", e.Message);
        Assert.Throws<FormatException>(() => GenerationParameters.FromText("x\nSteps: 20, Seed: 1, Init image: photo.png"));
    }

    [Fact]
    public void ResultsRecordTheEffectiveStrengthAndTheFileNameOnly()
    {
        var init = new SourceImage(8, 8, PixelMode.Rgb, new byte[8 * 8 * 3], Path.Combine(_folder, "in.png"));
        var mask = new SourceImage(8, 8, PixelMode.L, Enumerable.Repeat((byte)255, 64).ToArray(), "m.png");
        using var result = TestResults.Make(new ImageRequest("p", null, 1), new GenerationSettings { InitImage = init, Mask = mask, MaskCropPadding = 4 });
        var p = result.ToParameters();
        Assert.Equal(new SourceImageRecord("in.png", init.Sha256), p.InitImage);
        Assert.Equal(new SourceImageRecord("m.png", mask.Sha256), p.Mask);
        Assert.Equal(GenerationDefaults.InpaintStrength, p.Strength);
        Assert.Equal(4, p.MaskCropPadding);
    }

    private static readonly GenerationParameters Sdxl = new()
    {
        Prompt = "a watercolor, lighthouse",
        NegativePrompt = "blurry",
        Prompt2 = "stormy sky, \"waves\"\nat night",
        NegativePrompt2 = "people",
        Seed = 3,
        Steps = 20,
        GuidanceScale = 5f,
        Width = 64,
        Height = 64,
        Scheduler = "EulerDiscreteScheduler",
        Model = "tiny-sdxl",
        Conditioning = new SdxlConditioning
        {
            ClipSkip = 1,
            OriginalSize = new HeightWidth(1024, 768),
            CropTopLeft = new TopLeft(16, 32),
            TargetSize = new HeightWidth(512, 512),
            NegativeOriginalSize = new HeightWidth(256, 256),
            NegativeCropTopLeft = new TopLeft(0, 0),
            NegativeTargetSize = new HeightWidth(1024, 1024),
            AestheticScore = 6.5,
            NegativeAestheticScore = 2.5,
        },
        DenoisingStart = 0.8,
        DenoisingEnd = 0.9,
    };

    [Fact]
    public void SdxlSettingsRoundTripThroughBothForms()
    {
        var fromJson = GenerationParameters.FromJson(Sdxl.ToJson());
        var fromText = GenerationParameters.FromText(Sdxl.ToText());
        foreach (var p in new[] { fromJson, fromText })
        {
            Assert.Equal(Sdxl.Prompt2, p.Prompt2);
            Assert.Equal(Sdxl.NegativePrompt2, p.NegativePrompt2);
            Assert.Equal(1, p.Conditioning.ClipSkip);
            Assert.Equal(new HeightWidth(1024, 768), p.Conditioning.OriginalSize);
            Assert.Equal(new TopLeft(16, 32), p.Conditioning.CropTopLeft);
            Assert.Equal(new HeightWidth(512, 512), p.Conditioning.TargetSize);
            Assert.Equal(new HeightWidth(256, 256), p.Conditioning.NegativeOriginalSize);
            Assert.Equal(new TopLeft(0, 0), p.Conditioning.NegativeCropTopLeft);
            Assert.Equal(new HeightWidth(1024, 1024), p.Conditioning.NegativeTargetSize);
            Assert.Equal(6.5, p.Conditioning.AestheticScore);
            Assert.Equal(2.5, p.Conditioning.NegativeAestheticScore);
            Assert.Equal(0.8, p.DenoisingStart);
            Assert.Equal(0.9, p.DenoisingEnd);
        }
        Assert.Equal(Sdxl.ToJson(), fromJson.ToJson());
        Assert.Contains("Clip skip: 2", Sdxl.ToText()); // A1111 counts the last layer as 1
        Assert.Contains("\"original_size\":[1024,768]", Sdxl.ToJson());
    }

    [Fact]
    public void SdImagesWithoutSdxlSettingsWriteNoSdxlKeys()
    {
        Assert.DoesNotContain("prompt_2", Inpaint.ToJson());
        Assert.DoesNotContain("Clip skip", Inpaint.ToText());
        Assert.Null(GenerationParameters.FromText(Inpaint.ToText()).Conditioning.ClipSkip);
    }

    [Theory]
    [InlineData("1024x768")]
    [InlineData("1024")]
    [InlineData("(1024, -768)")]
    public void SizePairsRefuseOtherForms(string text) =>
        Assert.Contains("height, width", Assert.Throws<FormatException>(() => HeightWidth.Parse(text, "OriginalSize")).Message);
}
