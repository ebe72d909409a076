using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class PndmSchedulerTests
{
    /// <summary>PNDM's 0.12.0 and 0.35.2 behaviour agree for these configs ('leading' + steps_offset), so the 0.12.0 runs apply.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(20)]
    public void MatchesDiffusersTrajectory(int steps)
    {
        var run = SchedulerRuns.Get("0.12.0", "PNDMScheduler", steps);
        var scheduler = SchedulerRegistry.Create(run.ClassName, run.Config);
        var result = TrajectoryRunner.Run(scheduler, steps, TrajectoryRunner.InitialNoise());
        TrajectoryAssert.RunMatches(run, scheduler, result);
    }

    [Fact]
    public void PrkWarmupTimestepsFollowDiffusersLayout()
    {
        // 10 steps, leading, offset 0: _timesteps = 0,100,…,900; RK on 600..900 with half step 50.
        var scheduler = SchedulerRegistry.Create("PNDM", null, [new("steps_offset", 0)]);
        scheduler.SetTimesteps(10);
        double[] expected = [900, 850, 850, 800, 800, 750, 750, 700, 700, 650, 650, 600, 600, 500, 400, 300, 200, 100, 0];
        Assert.Equal(expected, scheduler.Timesteps);
    }
}
