using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// diffusers' <c>_threshold_sample</c> with <c>sample_max_value</c> below 1, where <c>torch.clamp(s, min=1, max=v)</c>
/// (min applied first, then max: min(max(s, 1), v)) gives s = v for every image, whatever its quantile.
/// </summary>
public class DynamicThresholdingTests
{
    [Fact]
    public void TorchClampAppliesTheLowerBoundFirst()
    {
        Assert.Equal(0.5f, TorchMath.Clamp(2.985f, 1f, 0.5f)); // max(2.985, 1) = 2.985, min(2.985, 0.5) = 0.5
        Assert.Equal(0.5f, TorchMath.Clamp(0.3985f, 1f, 0.5f)); // max(0.3985, 1) = 1, min(1, 0.5) = 0.5
        Assert.Equal(1.5f, TorchMath.Clamp(1.5f, 1f, 2f));
        Assert.Equal(1f, TorchMath.Clamp(0.2f, 1f, 2f));
        Assert.Equal(2f, TorchMath.Clamp(7f, 1f, 2f));
        Assert.True(float.IsNaN(TorchMath.Clamp(float.NaN, 1f, 0.5f)));
    }

    /// <summary>
    /// ratio 0.995, sample_max_value 0.5, two images of four values (n = 4: the quantile's rank is 0.995·3 = 2.985):
    /// image 0: |x| sorted 0.25, 0.75, 2, 3 → q = 2 + 0.985·(3 − 2) ≈ 2.985 → s = min(max(2.985, 1), 0.5) = 0.5;
    ///   clamp(x, −0.5, 0.5) / 0.5: −2 → −1, 0.25 → 0.5, 0.75 → 1, 3 → 1.
    /// image 1: |x| sorted 0.1, 0.2, 0.3, 0.4 → q ≈ 0.3985 (below 1) → s = min(max(0.3985, 1), 0.5) = 0.5 too;
    ///   nothing is clipped, every value doubles (exact in float32): 0.1 → 0.2, −0.2 → −0.4, 0.3 → 0.6, 0.4 → 0.8.
    /// </summary>
    [Fact]
    public void SampleMaxValueBelowOneBecomesTheThreshold()
    {
        var thresholding = new DynamicThresholding(0.995, 0.5);
        float[] x0 = [-2f, 0.25f, 0.75f, 3f, 0.1f, -0.2f, 0.3f, 0.4f];
        thresholding.Apply(x0, new LatentShape(2, 1, 2, 2));
        Assert.Equal([-1f, 0.5f, 1f, 1f, 0.2f, -0.4f, 0.6f, 0.8f], x0);
    }

    /// <summary>The schedulers that threshold (DDIM/DDPM/LCM's x̂₀, the VP solvers') accept such a config and step.</summary>
    [Theory]
    [InlineData("DDIM")]
    [InlineData("DDPM")]
    [InlineData("DPMSolverMultistep")]
    [InlineData("UniPC")]
    public void SchedulersStepWithSampleMaxValueBelowOne(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, SchedulerConfig.Parse("""{"thresholding": true, "sample_max_value": 0.5}"""));
        scheduler.SetTimesteps(4);
        var shape = new LatentShape(1, 4, 4, 4);
        var x = new float[shape.Length];
        var eps = new float[shape.Length];
        new TorchGenerator(0).Randn(x);
        new TorchGenerator(1).Randn(eps);
        IRandomGenerator[] generators = [new TorchGenerator(2)];
        foreach (double t in scheduler.Timesteps)
            scheduler.Step(eps, t, x, shape, generators);
        Assert.All(x, v => Assert.True(float.IsFinite(v)));
    }
}
