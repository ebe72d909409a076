using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Jobs;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>Image-to-image and inpainting in render jobs: InitImage, Mask, Strength and MaskCropPadding keys and columns.</summary>
public sealed class ImageJobTests : IDisposable
{
    private readonly JobScratch _scratch = new();

    public ImageJobTests()
    {
        Directory.CreateDirectory(_scratch.PathIn("inputs"));
        File.Copy(Fixtures.ExpectedPath("img2img-diffusers-0.35", "inputs", "img_64x64.png"), _scratch.PathIn("inputs", "photo.png"));
        File.Copy(Fixtures.ExpectedPath("img2img-diffusers-0.35", "inputs", "img_96x64.png"), _scratch.PathIn("inputs", "wide.png"));
        File.Copy(Fixtures.ExpectedPath("inpaint-diffusers-0.35", "inputs", "mask_rect_64x64_L.png"), _scratch.PathIn("inputs", "mask.png"));
    }

    public void Dispose() => _scratch.Dispose();

    private string Job(string prompts, string defaults = "\"Seeds\": 1") => $$"""
        {
          "Model": {{JobScratch.Model}},
          "Defaults": { {{defaults}} },
          "Prompts": [ {{prompts}} ],
          "OutputDirectory": "out"
        }
        """;

    [Fact]
    public void InputsResolveAgainstTheJobFolderAndAreReadOncePerFile()
    {
        var job = _scratch.Validate(Job("""
            "a fox",
            { "Prompt": "a cat", "Strength": 0.5 },
            { "Prompt": "an apple", "Mask": "inputs/mask.png", "MaskCropPadding": 8 }
            """, "\"Seeds\": 1, \"InitImage\": \"inputs/photo.png\""));
        var (fox, cat, apple) = (job.Items[0], job.Items[1], job.Items[2]);
        Assert.Equal(_scratch.PathIn("inputs", "photo.png"), fox.Settings.InitImage!.FileName);
        Assert.Same(fox.Settings.InitImage, cat.Settings.InitImage); // decoded once
        Assert.Equal(GenerationDefaults.Img2ImgStrength, fox.Settings.Strength); // the family's default, resolved as the pipeline resolves it
        Assert.Equal(GenerationDefaults.Img2ImgStrength, fox.Expected.Strength);
        Assert.Equal(0.5, cat.Expected.Strength);
        Assert.Equal(GenerationDefaults.InpaintStrength, apple.Expected.Strength);
        Assert.Equal(8, apple.Expected.MaskCropPadding);
        Assert.Equal(new SourceImageRecord("photo.png", fox.Settings.InitImage.Sha256), fox.Expected.InitImage);
        Assert.Equal("mask.png", apple.Expected.Mask!.FileName);
        // No size given: the pipeline takes the init image's, which the job expects.
        Assert.Null(fox.Settings.Width);
        Assert.Equal((64, 64), (fox.Expected.Width, fox.Expected.Height));
        Assert.NotEqual(fox.Identity, cat.Identity);
    }

    [Fact]
    public void AMissingOrUnreadableInputIsAProblemAtItsKeyAndLine()
    {
        _scratch.Write("inputs/notes.png", "this is text");
        var problems = _scratch.Problems(Job("""
            { "Prompt": "a", "InitImage": "inputs/none.png" },
            { "Prompt": "b", "InitImage": "inputs/notes.png" },
            { "Prompt": "c", "InitImage": 5 }
            """));
        var missing = Assert.Single(problems, p => p.Location == "Prompts[0].InitImage");
        Assert.Contains($"'{_scratch.PathIn("inputs", "none.png")}' does not exist", missing.Message);
        Assert.Equal(4, missing.Line); // the line of "Prompts": [ { … "InitImage" … }
        var unreadable = Assert.Single(problems, p => p.Location == "Prompts[1].InitImage");
        Assert.Contains("cannot be used", unreadable.Message);
        Assert.Single(problems, p => p.Location == "Prompts[2].InitImage" && p.Message.Contains("must be text"));
        Assert.Equal(3, problems.Count); // no "mask without…" or other follow-up problems
    }

    [Fact]
    public void SettingsThatDoNotFitTogetherAreProblemsOfTheirPrompt()
    {
        var problems = _scratch.Problems(Job("""
            { "Prompt": "mask only", "Mask": "inputs/mask.png" },
            { "Prompt": "strength only", "Strength": 0.4 },
            { "Prompt": "sizes", "InitImage": "inputs/wide.png", "Mask": "inputs/mask.png" },
            { "Prompt": "padding only", "InitImage": "inputs/photo.png", "MaskCropPadding": 4 },
            { "Prompt": "too strong", "InitImage": "inputs/photo.png", "Strength": 1.5 }
            """));
        Assert.Contains("needs an init image", Assert.Single(problems, p => p.Location == "Prompts[0]").Message);
        Assert.Contains("would be ignored", Assert.Single(problems, p => p.Location == "Prompts[1]").Message);
        Assert.Contains("is 64×64 but the init image 'wide.png' is 96×64", Assert.Single(problems, p => p.Location == "Prompts[2]").Message);
        Assert.Contains("crops around the inpainting mask", Assert.Single(problems, p => p.Location == "Prompts[3]").Message);
        Assert.Contains("between 0 and 1", Assert.Single(problems, p => p.Location == "Prompts[4].Strength").Message);
        Assert.Equal(5, problems.Count);
    }

    [Fact]
    public void PromptFileColumnsCarryInputsAndEmptyCellsKeepTheDefaults()
    {
        _scratch.Write("prompts.csv", "Prompt,InitImage,Strength,Mask\na,inputs/photo.png,0.3,\nb,,,\nc,inputs/photo.png,x,inputs/gone.png\n");
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1 }, "PromptFile": "prompts.csv", "OutputDirectory": "out" }""");
        Assert.Contains("must be a number", Assert.Single(problems, p => p.Location == "prompts.csv line 4, column 'Strength'").Message);
        Assert.Contains("does not exist", Assert.Single(problems, p => p.Location == "prompts.csv line 4, column 'Mask'").Message);
        Assert.Equal(2, problems.Count);

        _scratch.Write("prompts.csv", "Prompt,InitImage,Strength\na,inputs/photo.png,0.3\nb,,\n");
        var job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1 }, "PromptFile": "prompts.csv", "OutputDirectory": "out" }""");
        Assert.Equal(0.3, job.Items[0].Settings.Strength);
        Assert.NotNull(job.Items[0].Settings.InitImage);
        Assert.Null(job.Items[1].Settings.InitImage);
        Assert.Null(job.Items[1].Expected.Strength);
    }

    [Fact]
    public void AChangedInputFileRendersAgainAndTheOutputRecordsIt()
    {
        string json = Job("""{ "Prompt": "a cat", "InitImage": "inputs/photo.png", "Strength": 0.75 }""");
        var job = _scratch.Validate(json);
        var summary = new RenderJobRunner(job, j => new FakeEngine(j)).Run();
        Assert.Equal(1, summary.Rendered);
        var recorded = GenerationParameters.Parse(PngFile.ReadText(job.Items[0].Path));
        Assert.Equal(job.Items[0].Expected.InitImage, recorded.InitImage);
        Assert.Equal(0.75, recorded.Strength);
        Assert.Equal(OutputState.Verified, OutputVerifier.Check(_scratch.Validate(json).Items[0]).State);

        // Same name, other pixels: another identity, so the image is outdated.
        using (var image = Image.Load<Rgb24>(_scratch.PathIn("inputs", "photo.png")))
        {
            image[0, 0] = new Rgb24(1, 2, 3);
            image.SaveAsPng(_scratch.PathIn("inputs", "photo.png"));
        }
        var changed = _scratch.Validate(json);
        Assert.NotEqual(job.Items[0].Identity, changed.Items[0].Identity);
        Assert.Equal(OutputState.Outdated, OutputVerifier.Check(changed.Items[0]).State);
    }
}
