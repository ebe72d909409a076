using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class AllocationTests
{
    /// <summary>Once a run has sized the buffers for a shape, a second run's SetTimesteps-free loop allocates nothing.</summary>
    [Theory]
    [InlineData("PNDM")]
    [InlineData("DDIM")]
    [InlineData("Euler")]
    [InlineData("Euler Karras")]
    [InlineData("LMS")]
    [InlineData("Heun")]
    [InlineData("DPM2")]
    public void StepIsAllocationFreeAfterWarmUp(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, SchedulerConfig.Parse("""{"beta_schedule":"scaled_linear","beta_start":0.00085,"beta_end":0.012}"""));
        var shape = new LatentShape(1, 4, 8, 8);
        var x = new float[shape.Length];
        var eps = new float[shape.Length];
        for (int i = 0; i < x.Length; i++) { x[i] = (i % 7) * 0.1f; eps[i] = (i % 5) * 0.05f; }
        long allocated = 0;
        for (int run = 0; run < 2; run++)
        {
            // The first run sizes the buffers (and multistep history) for the shape; the second must not allocate.
            scheduler.SetTimesteps(12);
            var timesteps = scheduler.Timesteps.ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < timesteps.Length; i++) { scheduler.ScaleModelInput(eps, timesteps[i]); scheduler.Step(eps, timesteps[i], x, shape); }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(0, allocated);
    }
}
