using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class NoiseScheduleTests
{
    [Fact]
    public void ZeroTerminalSnrRescaleEndsAtZeroAlphaCumprod()
    {
        // The README's ddim_zerosnr case states betas[999] = 1 and alphas_cumprod[999] = 0 exactly.
        var schedule = NoiseSchedule.Create(1000, 0.00085, 0.012, NoiseSchedule.ScaledLinear, rescaleZeroTerminalSnr: true);
        Assert.Equal(1f, schedule.Betas[999]);
        Assert.Equal(0f, schedule.AlphasCumprod[999]);
    }

    [Fact]
    public void TrainedBetasAreUsedAsGivenInFloat32()
    {
        var schedule = NoiseSchedule.Create(3, 0, 0, "ignored", trainedBetas: [0.1, 0.2, 0.3]);
        Assert.Equal(new[] { 0.1f, 0.2f, 0.3f }, schedule.Betas);
        // alphas are float32 (1 - beta); cumprod accumulates in float64 and rounds each output to float32.
        Assert.Equal((float)((double)(1f - 0.1f) * (1f - 0.2f)), schedule.AlphasCumprod[1]);
    }

    [Fact]
    public void UnknownBetaScheduleThrows()
    {
        Assert.Throws<ArgumentException>(() => NoiseSchedule.Create(10, 0.1, 0.2, "cubic"));
    }

    [Fact]
    public void NumpyArangeAndLinspaceFollowNumpyRules()
    {
        Assert.Equal(new double[] { 1000, 950, 900 }, NumpyOps.Arange(1000, 0, -50)[..3]);
        Assert.Equal(20, NumpyOps.Arange(1000, 0, -50).Length);
        Assert.Equal(3, NumpyOps.Arange(1000, 0, -1000.0 / 3).Length);
        Assert.Equal(new double[] { 0 }, NumpyOps.Linspace(0, 999, 1));
        Assert.Equal(999, NumpyOps.Linspace(0, 999, 20)[19]);
    }
}
