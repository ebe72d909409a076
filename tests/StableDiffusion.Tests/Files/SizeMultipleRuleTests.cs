using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Files;

/// <summary>The size rule states the model's real step and the nearest sizes that fit.</summary>
public sealed class SizeMultipleRuleTests
{
    [Fact]
    public void SdNeedsMultiplesOf64()
    {
        // SD 1.5: VAE factor 8, three downsamplers (factor 8): 520 is a multiple of 8 but not of 64.
        var problem = ImageTaskRules.SizeMultiple(520, 512, vaeScaleFactor: 8, latentMultiple: 8, "sd15");
        Assert.NotNull(problem);
        Assert.Equal("Width", problem.Setting);
        Assert.Equal("SizeNotMultipleOfModel", problem.ErrorId);
        Assert.Contains("Width must be a multiple of 64 for the model 'sd15'; it is 520", problem.Message);
        Assert.Contains("Try 512 or 576", problem.Message);
    }

    [Fact]
    public void TheHeightIsCheckedTooAndAFittingSizePasses()
    {
        Assert.Equal("Height", ImageTaskRules.SizeMultiple(512, 520, 8, 8, "sd15")!.Setting);
        Assert.Null(ImageTaskRules.SizeMultiple(768, 512, 8, 8, "sd15"));
        Assert.Null(ImageTaskRules.SizeMultiple(80, 48, 8, 2, "tiny"));
    }

    [Fact]
    public void ASizeBelowTheStepSuggestsTheStepItself() =>
        Assert.Contains("Try 64 or 128", ImageTaskRules.SizeMultiple(8, 64, 8, 8, "sd15")!.Message);
}
