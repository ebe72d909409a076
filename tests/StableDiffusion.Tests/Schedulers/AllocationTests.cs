using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class AllocationTests
{
    /// <summary>Every registered class by name, DDIM also with η = 1 (its noisy path), and the aliases that change the schedule.</summary>
    public static TheoryData<string, double> Schedulers()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in new[] { "PNDM", "DDIM", "Euler", "Euler Karras", "LMS", "Heun", "DPM2" }) data.Add(name, 0);
        foreach (var r in SchedulerRegistry.Registrations) data.Add(r.ClassName, 0);
        data.Add("DDIM", 1);
        return data;
    }

    /// <summary>
    /// Once a run has sized the buffers for a shape, a second run's SetTimesteps-free loop (ScaleModelInput and Step,
    /// with one generator per image for the stochastic classes) allocates nothing.
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedulers))]
    public void StepIsAllocationFreeAfterWarmUp(string name, double eta)
    {
        var scheduler = SchedulerRegistry.Create(name, SchedulerConfig.Parse("""{"beta_schedule":"scaled_linear","beta_start":0.00085,"beta_end":0.012}"""));
        var shape = new LatentShape(2, 4, 8, 8);
        var generators = new IRandomGenerator[] { new TorchGenerator(1), new TorchGenerator(2) };
        var x = new float[shape.Length];
        var eps = new float[shape.Length];
        long allocated = 0;
        for (int run = 0; run < 2; run++)
        {
            for (int i = 0; i < x.Length; i++) { x[i] = (i % 7) * 0.1f; eps[i] = (i % 5) * 0.05f; }
            // The first run sizes the buffers (and multistep history) for the shape; the second must not allocate.
            scheduler.SetTimesteps(12);
            var timesteps = scheduler.Timesteps.ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < timesteps.Length; i++)
            {
                scheduler.ScaleModelInput(eps, timesteps[i]);
                scheduler.Step(eps, timesteps[i], x, shape, generators, eta);
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(0, allocated);
    }
}
