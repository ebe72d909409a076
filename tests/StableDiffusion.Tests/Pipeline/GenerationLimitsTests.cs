using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The accepted ranges of a generation's numbers, checked by <see cref="GenerationSettings.Validate"/> for cmdlet and jobs alike.</summary>
public sealed class GenerationLimitsTests
{
    [Theory]
    [InlineData(3.4e38f)]
    [InlineData(100.5f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void AGuidanceScaleOutsideZeroToHundredIsRefused(float guidance)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new GenerationSettings { GuidanceScale = guidance }.Validate());
        Assert.Equal("GuidanceScaleOutOfRange", e.ErrorId);
        Assert.Contains("from 0 to 100", e.Message);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    [InlineData(7.5f)]
    [InlineData(100f)]
    public void AGuidanceScaleInsideTheRangePasses(float guidance) => new GenerationSettings { GuidanceScale = guidance }.Validate();

    [Theory]
    [InlineData(1.01f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    public void AnEtaOutsideZeroToOneIsRefused(float eta)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new GenerationSettings { Eta = eta }.Validate());
        Assert.Equal("EtaOutOfRange", e.ErrorId);
    }

    [Fact]
    public void SeedsAreZeroToTheLargestLong()
    {
        GenerationLimits.CheckSeed(0);
        GenerationLimits.CheckSeed(long.MaxValue);
        GenerationLimits.CheckSeedSequence(long.MaxValue, 1);
        Assert.Equal("SeedOutOfRange", Assert.Throws<InvalidSettingException>(() => GenerationLimits.CheckSeed(-5)).ErrorId);
        Assert.Equal("SeedOutOfRange", Assert.Throws<InvalidSettingException>(() => GenerationLimits.CheckSeedSequence(long.MaxValue - 2, 4)).ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    [InlineData(int.MaxValue)]
    public void ABatchSizeOutsideOneToSixtyFourIsRefused(int batchSize)
    {
        var e = Assert.Throws<InvalidSettingException>(() => GenerationLimits.CheckBatchSize(batchSize));
        Assert.Equal("InvalidBatchSize", e.ErrorId);
        Assert.Contains("1 to 64", e.Message);
    }

    [Theory]
    [InlineData(1e9, null)]
    [InlineData(null, -0.5)]
    [InlineData(double.NaN, null)]
    public void AnAestheticScoreOutsideZeroToTenIsRefused(double? score, double? negative)
    {
        var settings = new GenerationSettings { Conditioning = new SdxlConditioning { AestheticScore = score, NegativeAestheticScore = negative } };
        var e = Assert.Throws<InvalidSettingException>(settings.Validate);
        Assert.Equal("AestheticScoreOutOfRange", e.ErrorId);
        Assert.StartsWith(score is null ? "NegativeAestheticScore " : "AestheticScore ", e.Message);
    }

    [Fact]
    public void DiffusersDefaultAestheticScoresPass() =>
        new GenerationSettings { Conditioning = new SdxlConditioning { AestheticScore = 6, NegativeAestheticScore = 2.5 } }.Validate();
}
