using System.Diagnostics;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

/// <summary>
/// Seconds per image, iterations per second, UNet and overhead milliseconds per step and peak memory for several batch
/// sizes (the guide's comparison): -ModelPath -ExecutionProvider -Precision -Steps -BatchSize 1,2,4,8 -Scheduler -Runs.
/// Peak memory is the device's (cudaMemGetInfo after every step and the decode, less what was in use before loading)
/// on CUDA, the process's peak working set on the CPU.
/// </summary>
internal static class ThroughputBench
{
    public static void Run(Args options)
    {
        string model = options.Get("ModelPath", "");
        var provider = Enum.Parse<ExecutionProvider>(options.Get("ExecutionProvider", "Cuda"), ignoreCase: true);
        var precision = Enum.Parse<ModelPrecision>(options.Get("Precision", "Auto"), ignoreCase: true);
        int steps = int.Parse(options.Get("Steps", "20"));
        int runs = int.Parse(options.Get("Runs", "3"));
        int warmup = int.Parse(options.Get("Warmup", "1"));
        int[] batches = options.Get("BatchSize", "1,2,4,8").Split(',').Select(int.Parse).ToArray();
        string? scheduler = options.Get("Scheduler", "") is { Length: > 0 } s ? s : null;
        bool cudaGraph = bool.Parse(options.Get("CudaGraph", "false"));
        var pipelineOptions = new PipelineOptions
        {
            ExecutionProvider = provider,
            Precision = precision,
            Scheduler = scheduler is null ? null : new SchedulerChoice(scheduler),
            CudaGraph = cudaGraph,
            UNetFixedShapes = options.Get("FixedShapes", "") is { Length: > 0 } fixedShapes ? bool.Parse(fixedShapes) : null, // empty: the provider's default
            UNetIOBinding = options.Get("IOBinding", "") is { Length: > 0 } binding ? bool.Parse(binding) : null,
            UNetMemoryPattern = bool.Parse(options.Get("MemPattern", "false")),
            Gpu = new GpuSettings
            {
                PreferNhwc = bool.Parse(options.Get("PreferNhwc", "false")),
                UseTf32 = bool.Parse(options.Get("Tf32", "false")),
                DisabledOptimizers = options.Get("DisableOptimizers", "BiasSoftmaxFusion") is { Length: > 0 } disabled ? disabled.Split(',') : [],
                ConvAlgoSearch = Enum.Parse<CudnnConvAlgoSearch>(options.Get("ConvAlgoSearch", "Exhaustive"), ignoreCase: true),
            },
        };

        long baseline = DeviceMemory.Query()?.Used ?? 0;
        var load = Stopwatch.StartNew();
        using var pipeline = StableDiffusionPipeline.Load(model, pipelineOptions);
        load.Stop();
        int size = int.Parse(options.Get("Size", pipeline.Model.DefaultImageSize.ToString()));
        var device = DeviceMemory.Query();
        Console.WriteLine($"Model {pipeline.Model.Name} ({pipeline.Precision}) on {pipeline.Provider}, {size}x{size}, {steps} steps, scheduler " +
            $"{pipeline.DescribeScheduler()}, UNet {(pipeline.UNet.UsesFixedShapes ? "fixed shapes" : "dynamic shapes")}" +
            $"{(pipeline.UNet.UsesIOBinding ? " + IOBinding" : "")}{(pipeline.UNet.UsesCudaGraph ? " + CUDA graph" : "")}; median of {runs} runs after {warmup} warm-up; " +
            $"load {load.Elapsed.TotalSeconds:F2} s; {Environment.ProcessorCount} logical CPUs" +
            (device is { } d ? $"; device memory {d.Total / 1048576.0:F0} MiB, {baseline / 1048576.0:F0} MiB in use before loading" : ""));
        if (pipeline.ProviderOptions.Count > 0)
            Console.WriteLine("Provider options (read back): " + string.Join(", ", pipeline.ProviderOptions.Select(kv => $"{kv.Key}={kv.Value}")));
        Console.WriteLine();
        Console.WriteLine("| batch | s / image | it/s | UNet ms / step | overhead ms / step | first run s | peak memory MiB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int batch in batches)
        {
            var requests = Enumerable.Range(0, batch).Select(i => new ImageRequest("a photo of an astronaut riding a horse on mars", null, i, i)).ToArray();
            var settings = new GenerationSettings { Steps = steps, Width = size, Height = size };
            var memory = new PeakMemory(baseline);
            var samples = new List<(double Wall, GenerationTimings Timings)>();
            double first = 0;
            try
            {
                for (int run = 0; run < warmup + runs; run++)
                {
                    var wall = Stopwatch.StartNew();
                    var results = pipeline.Generate(requests, settings, memory);
                    wall.Stop();
                    memory.Sample();
                    if (run == 0) first = wall.Elapsed.TotalSeconds;
                    if (run >= warmup) samples.Add((wall.Elapsed.TotalSeconds, results[0].Timings));
                    foreach (var r in results) r.Dispose();
                }
            }
            catch (Exception e) when (e is DeviceOutOfMemoryException or OutOfMemoryException or InvalidOperationException)
            {
                Console.WriteLine($"| {batch} | failed: {e.Message.Split('.')[0]} | | | | | |");
                continue;
            }
            double Median(Func<(double Wall, GenerationTimings Timings), double> pick)
            {
                var v = samples.Select(pick).Order().ToArray();
                return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
            }
            int iterations = samples[0].Timings.Iterations;
            Console.WriteLine($"| {batch} | {Median(x => x.Wall) / batch:F4} | {Median(x => x.Timings.IterationsPerSecond):F2} | " +
                $"{Median(x => x.Timings.UNet.TotalMilliseconds / iterations):F3} | {Median(x => x.Timings.Scheduler.TotalMilliseconds / iterations):F3} | " +
                $"{first:F2} | {memory.PeakMiB:F0} |");
        }
    }

    /// <summary>Samples memory after every step (device memory on CUDA, the process's peak working set otherwise).</summary>
    private sealed class PeakMemory(long baseline) : GenerationObserver
    {
        private long _peak;

        public double PeakMiB => _peak / 1048576.0;

        public void Sample()
        {
            long used = DeviceMemory.Query() is { } d ? d.Used - baseline : Process.GetCurrentProcess().PeakWorkingSet64;
            _peak = Math.Max(_peak, used);
        }

        public override void OnStep(StepInfo step) => Sample();

        public override void OnDecoded(ReadOnlySpan<float> vaeInput, ReadOnlySpan<float> vaeOutput) => Sample();
    }
}
