using System.Diagnostics;
using StableDiffusion.Random;
using StableDiffusion.Schedulers;

/// <summary>Per-step cost of every registered scheduler (scale_model_input + step) on a 2×4×64×64 latent (SD 512², batch 2).</summary>
internal static class SchedulerBench
{
    public static void Run(string modelFolder, int steps)
    {
        var config = SchedulerConfig.Load(Path.Combine(modelFolder, "scheduler", "scheduler_config.json"));
        var shape = new LatentShape(2, 4, 64, 64);
        var generators = new IRandomGenerator[] { new TorchGenerator(1), new TorchGenerator(2) };
        var sample = new float[shape.Length];
        var output = new float[shape.Length];
        Console.WriteLine($"Scheduler step cost, latent {shape}, {steps} steps, median of 5 runs (after 1 warm-up), {Environment.ProcessorCount} logical CPUs");
        Console.WriteLine();
        Console.WriteLine("| scheduler | iterations | µs per iteration (scale + step) | allocated bytes per iteration |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var registration in SchedulerRegistry.Registrations)
        {
            var times = new List<double>();
            long allocated = 0;
            int iterations = 0;
            for (int run = 0; run < 6; run++)
            {
                var scheduler = SchedulerRegistry.Create(registration.ClassName, config);
                scheduler.SetTimesteps(steps);
                new TorchGenerator(0).Randn(sample);
                long before = GC.GetAllocatedBytesForCurrentThread();
                var clock = new Stopwatch();
                foreach (var t in scheduler.Timesteps)
                {
                    for (int i = 0; i < output.Length; i++) output[i] = sample[i] * 0.1f; // the fake model, not timed
                    clock.Start();
                    scheduler.ScaleModelInput(sample, t);
                    scheduler.Step(output, t, sample, shape, generators);
                    clock.Stop();
                }
                iterations = scheduler.Timesteps.Count;
                if (run == 0) continue;
                times.Add(clock.Elapsed.TotalMicroseconds / iterations);
                allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / iterations;
            }
            times.Sort();
            Console.WriteLine($"| {registration.ClassName} | {iterations} | {times[times.Count / 2]:F1} | {allocated} |");
        }
    }
}
