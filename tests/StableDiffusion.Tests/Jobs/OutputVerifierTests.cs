using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Jobs;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>An existing file counts as done only when its metadata and pixels say so, never by its name.</summary>
public sealed class OutputVerifierTests : IDisposable
{
    private readonly JobScratch _scratch = new();
    private readonly RenderJob _job;

    public OutputVerifierTests()
    {
        _job = _scratch.Validate($$"""
            { "Model": {{JobScratch.Model}}, "Prompts": "a photo of a cat", "Defaults": { "Seeds": "0-1", "Width": 64, "Height": 64, "Steps": 20 }, "OutputDirectory": "out" }
            """);
        Directory.CreateDirectory(_job.OutputDirectory);
    }

    public void Dispose() => _scratch.Dispose();

    private RenderItem Item => _job.Items[0];

    /// <summary>Writes a PNG as a job does: real pixels, the parameters, and the job record.</summary>
    private void Save(RenderItem item, GenerationParameters parameters, string? record, string? imagePath = null)
    {
        using var image = Image.Load<Rgb24>(imagePath ?? Fixtures.ExpectedPath("pipeline-diffusers-0.35", "pndm20_default", "image_0.png"));
        var text = new Dictionary<string, string> { [GenerationParameters.TextKey] = parameters.ToText(), [GenerationParameters.JsonKey] = parameters.ToJson() };
        if (record is not null) text[OutputVerifier.JobKey] = record;
        PngFile.SaveWithText(image, item.Path, text, overwrite: true);
    }

    [Fact]
    public void AJobsImageWithTheItemsIdentityAndParametersIsVerified()
    {
        Assert.Equal(OutputState.Missing, OutputVerifier.Check(Item).State);
        Save(Item, Item.Expected, OutputVerifier.JobRecord(Item));
        Assert.Equal(OutputState.Verified, OutputVerifier.Check(Item).State);
    }

    [Fact]
    public void AnotherItemsImageUnderThisNameIsOutdated()
    {
        var other = _job.Items[1];
        Save(Item, other.Expected, OutputVerifier.JobRecord(other));
        var check = OutputVerifier.Check(Item);
        Assert.Equal(OutputState.Outdated, check.State);
        Assert.Contains("other parameters", check.Reason);
    }

    [Fact]
    public void ParametersThatDisagreeWithTheIdentityAreOutdated()
    {
        // The job record claims this item, but the recorded steps are not the job's.
        Save(Item, Item.Expected with { Steps = 30 }, OutputVerifier.JobRecord(Item));
        var check = OutputVerifier.Check(Item);
        Assert.Equal(OutputState.Outdated, check.State);
        Assert.Contains("steps 30, not 20", check.Reason);
    }

    [Fact]
    public void APngNoJobWroteIsForeign()
    {
        Save(Item, Item.Expected, record: null);
        var check = OutputVerifier.Check(Item);
        Assert.Equal(OutputState.Foreign, check.State);
        Assert.Contains("was not written by a render job", check.Reason);
    }

    [Fact]
    public void AFlippedBitOrACutFileIsDamaged()
    {
        Save(Item, Item.Expected, OutputVerifier.JobRecord(Item));
        byte[] good = File.ReadAllBytes(Item.Path);
        int idat = System.Text.Encoding.Latin1.GetString(good).IndexOf("IDAT", StringComparison.Ordinal);

        byte[] flipped = (byte[])good.Clone();
        flipped[idat + 30] ^= 0x10;
        File.WriteAllBytes(Item.Path, flipped);
        var check = OutputVerifier.Check(Item);
        Assert.Equal(OutputState.Damaged, check.State);
        Assert.Contains("IDAT chunk fails its CRC check", check.Reason);

        File.WriteAllBytes(Item.Path, good[..(good.Length - 20)]);
        Assert.Equal(OutputState.Damaged, OutputVerifier.Check(Item).State);

        File.WriteAllBytes(Item.Path, "not a png"u8.ToArray());
        Assert.Equal(OutputState.Damaged, OutputVerifier.Check(Item).State);
    }

    [Fact]
    public void AnImageOfTheWrongSizeIsDamaged()
    {
        Save(Item, Item.Expected, OutputVerifier.JobRecord(Item), Fixtures.ExpectedPath("pipeline-diffusers-0.35", "dpmpp2m_karras20_batch3_128", "image_0.png"));
        var check = OutputVerifier.Check(Item);
        Assert.Equal(OutputState.Damaged, check.State);
        Assert.Contains("128×128, not 64×64", check.Reason);
    }
}
