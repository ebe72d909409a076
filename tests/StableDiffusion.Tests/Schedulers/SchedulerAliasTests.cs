using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class SchedulerAliasTests
{
    [Theory]
    [InlineData("Euler", "EulerDiscreteScheduler")]
    [InlineData("euler a", "EulerAncestralDiscreteScheduler")]
    [InlineData("Heun", "HeunDiscreteScheduler")]
    [InlineData("LMS", "LMSDiscreteScheduler")]
    [InlineData("DPM2", "KDPM2DiscreteScheduler")]
    [InlineData("DPM2 a", "KDPM2AncestralDiscreteScheduler")]
    [InlineData("DDIM", "DDIMScheduler")]
    [InlineData("DDPM", "DDPMScheduler")]
    [InlineData("LCM", "LCMScheduler")]
    [InlineData("PLMS", "PNDMScheduler")]
    [InlineData("EulerDiscrete", "EulerDiscreteScheduler")]
    [InlineData("KDPM2AncestralDiscreteScheduler", "KDPM2AncestralDiscreteScheduler")]
    public void UiAndShortNamesResolve(string name, string className) =>
        Assert.Equal(className, SchedulerRegistry.Create(name).Name);

    [Theory]
    [InlineData("Euler Karras")]
    [InlineData("LMS Karras")]
    [InlineData("Heun Karras")]
    [InlineData("DPM2 Karras")]
    [InlineData("DPM2 a Karras")]
    public void KarrasAliasesSetUseKarrasSigmas(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, SchedulerConfig.Parse("""{"use_karras_sigmas": false}"""));
        Assert.True(scheduler.Config.GetBool("use_karras_sigmas", false));
    }

    [Fact]
    public void UserOverrideWinsOverAliasOverride()
    {
        var scheduler = SchedulerRegistry.Create("Euler Karras", null, [new("use_karras_sigmas", false)]);
        Assert.False(scheduler.Config.GetBool("use_karras_sigmas", true));
    }

    [Fact]
    public void StochasticMetadataMatchesWhetherStepDrawsNoise()
    {
        Assert.True(SchedulerRegistry.Find("Euler a").Stochastic);
        Assert.True(SchedulerRegistry.Find("LCM").Stochastic);
        Assert.False(SchedulerRegistry.Find("Euler").Stochastic);
        Assert.Equal(2, SchedulerRegistry.Find("Heun").Order);
    }

    [Fact]
    public void StochasticSchedulerWithoutGeneratorThrows()
    {
        var scheduler = SchedulerRegistry.Create("Euler a");
        scheduler.SetTimesteps(4);
        var x = new float[16];
        var ex = Assert.Throws<ArgumentException>(() => scheduler.Step(x, scheduler.Timesteps[0], x, new LatentShape(1, 1, 4, 4)));
        Assert.Equal("generators", ex.ParamName);
    }

    [Fact]
    public void StepBeforeSetTimestepsThrows()
    {
        var scheduler = SchedulerRegistry.Create("Euler");
        var x = new float[16];
        Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 999, x, new LatentShape(1, 1, 4, 4)));
    }

    [Fact]
    public void TooManyStepsThrows()
    {
        var scheduler = SchedulerRegistry.Create("DDIM");
        Assert.Equal("StepsOutOfRange", Assert.Throws<InvalidSettingException>(() => scheduler.SetTimesteps(1001)).ErrorId);
        Assert.Equal("StepsOutOfRange", Assert.Throws<InvalidSettingException>(() => scheduler.SetTimesteps(0)).ErrorId);
    }

    [Fact]
    public void MoreThanOneSigmaRampThrows()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            SchedulerRegistry.Create("Euler", null, [new("use_karras_sigmas", true), new("use_exponential_sigmas", true)]));
        Assert.Contains("use_karras_sigmas", ex.Message);
    }

    [Fact]
    public void LearnedDdpmVarianceIsRejectedWithReason()
    {
        var ex = Assert.Throws<NotSupportedException>(() => SchedulerRegistry.Create("DDPM", null, [new("variance_type", "learned_range")]));
        Assert.Contains("variance", ex.Message);
    }

    [Fact]
    public void IllegalEnumOverridesNameKeyAndAllowedValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("Euler", null, [new("final_sigmas_type", "one")]));
        Assert.Equal("final_sigmas_type", ex.ParamName);
        Assert.Contains("\"sigma_min\"", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("Euler", null, [new("prediction_type", "noise")]));
        Assert.Contains("\"v_prediction\"", ex2.Message);
    }

    [Fact]
    public void EulerKarrasWithSigmaMinOverride()
    {
        // sigma_min / sigma_max bound the Karras ramp (diffusers' _convert_to_karras reads the config first).
        var scheduler = SchedulerRegistry.Create("Euler Karras", null, [new("sigma_min", 0.1), new("sigma_max", 10.0)]);
        scheduler.SetTimesteps(5);
        Assert.Equal(10f, scheduler.Sigmas![0]);
        Assert.Equal(0.1f, scheduler.Sigmas[4]);
        Assert.Equal(0f, scheduler.Sigmas[5]);
    }
}
