using StableDiffusion.Imaging;

namespace StableDiffusion.Tests.Imaging;

/// <summary>Name-template formats checked when the template is parsed, grid sizes before composing, recorded seeds read strictly.</summary>
public sealed class OutputLimitsTests
{
    [Theory]
    [InlineData("{date:%%%}", "not a valid .NET date and time format ('%%%')")]
    [InlineData("{time:%}", "date and time format")]
    [InlineData("{prompt:abc}", "must be a length in characters from 1 to 120")]
    [InlineData("{prompt:0}", "from 1 to 120")]
    [InlineData("{model:x}", "takes no format; write {model}")]
    public void ABadFormatIsRefusedNamingTheTemplate(string template, string expected)
    {
        var e = Assert.Throws<InvalidSettingException>(() => FileNameTemplate.Parse("a-" + template));
        Assert.Equal("InvalidNameTemplate", e.ErrorId);
        Assert.Contains($"in the name template 'a-{template}'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("{date:yyyy-MM-dd}-{index:0000}-{prompt:40}-{guidance:0.0}")]
    [InlineData("{time:HHmm}{seed:X}")]
    public void GoodFormatsParse(string template) => Assert.Equal(template, FileNameTemplate.Parse(template).Template);

    [Fact]
    public void RowsThatWouldStayEmptyAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.Layout(4, 100_000, null));
        Assert.Contains("A grid of 100000 rows × 1 column leaves rows empty for 4 images; 4 images in 1 column need 4 rows.", e.Message);
        Assert.Throws<ArgumentException>(() => ImageGrid.Layout(4, null, 9));
        Assert.Equal((2, 2), ImageGrid.Layout(4, 2, null));
    }

    [Fact]
    public void AGridPastThePngSizeLimitIsRefusedBeforeComposing()
    {
        var e = Assert.Throws<InvalidSettingException>(() => ImageGrid.CheckSize(64, 64, 100_000, 1));
        Assert.Equal("GridTooLarge", e.ErrorId);
        Assert.Contains("64×6400000 pixels", e.Message);
        // 20000² passes neither; 16384 × 16384 is the pixel limit exactly.
        Assert.Throws<InvalidSettingException>(() => ImageGrid.CheckSize(1000, 1000, 20, 20));
        ImageGrid.CheckSize(1024, 1024, 16, 16);
    }

    [Theory]
    [InlineData("99999999999999999999")]
    [InlineData("-3")]
    public void ARecordedSeedOutsideTheSeedDomainIsAFormatError(string seed)
    {
        var e = Assert.Throws<FormatException>(() => GenerationParameters.FromText($"a cat\nSteps: 20, Sampler: PNDM, CFG scale: 7.5, Seed: {seed}, Size: 64x64"));
        Assert.Contains($"'{seed}'", e.Message);
    }
}
