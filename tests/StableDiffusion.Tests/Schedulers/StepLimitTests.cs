using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// The step counts each scheduler supports with a model's configuration. The fixture's configuration (diffusers 0.12:
/// steps_offset 1, PNDM/DDIM default 'leading' spacing, 1000 training timesteps) gives timesteps (arange(n) · 1000 // n) + 1,
/// so 1000 steps reach timestep 1000, past ᾱ's last index 999: diffusers fails there with an IndexError.
/// </summary>
public sealed class StepLimitTests
{
    private static SchedulerConfig FixtureConfig() => SchedulerConfig.Load(Path.Combine(Fixtures.TinySd, "scheduler", "scheduler_config.json"));

    [Theory]
    [InlineData("PNDMScheduler")]
    [InlineData("DDIMScheduler")]
    [InlineData("DDPMScheduler")]
    public void ThousandStepsWithOffsetOneAreRefusedNamingTheLargestThatWorks(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, FixtureConfig());
        var e = Assert.Throws<InvalidSettingException>(() => scheduler.SetTimesteps(1000));
        Assert.Equal("StepsOutOfRange", e.ErrorId);
        Assert.Equal(1000, e.Value);
        Assert.Contains("Use at most 999 steps", e.Message);
    }

    [Theory]
    [InlineData("PNDMScheduler")]
    [InlineData("DDIMScheduler")]
    public void TheLargestStepCountRunsInsideTheSchedule(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, FixtureConfig());
        scheduler.SetTimesteps(999);
        // 999 steps: ratio 1000 // 999 = 1, timesteps 999 … 1 (PNDM repeats its first plms step).
        Assert.Equal(999.0, scheduler.Timesteps.Max());
        Assert.Equal(1.0, scheduler.Timesteps.Min());
    }

    [Fact]
    public void AFailedCountLeavesTheSchedulerUsableForAGoodOne()
    {
        var scheduler = SchedulerRegistry.Create("PNDMScheduler", FixtureConfig());
        Assert.Throws<InvalidSettingException>(() => scheduler.SetTimesteps(1000));
        scheduler.SetTimesteps(2);
        Assert.Equal(new[] { 1.0, 1.0, 501.0 }, scheduler.Timesteps.Order());
    }

    [Fact]
    public void MoreStepsThanTrainingTimestepsAreRefusedByEveryScheduler()
    {
        foreach (var name in new[] { "PNDMScheduler", "DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler", "LMSDiscreteScheduler" })
        {
            var e = Assert.Throws<InvalidSettingException>(() => SchedulerRegistry.Create(name, FixtureConfig()).SetTimesteps(1001));
            Assert.Contains("Steps must be 1 to 1000", e.Message);
        }
    }

    [Fact]
    public void TrailingSpacingSupportsAllThousandSteps()
    {
        var scheduler = SchedulerRegistry.Create("DDIMScheduler", FixtureConfig(), [new("timestep_spacing", "trailing")]);
        scheduler.SetTimesteps(1000);
        Assert.Equal(999.0, scheduler.Timesteps[0]);
        Assert.Equal(0.0, scheduler.Timesteps[^1]);
    }
}
