using System.Diagnostics;
using System.Globalization;
using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

/// <summary>
/// The cost of a LoRA on the CPU (--lora &lt;file&gt;): reading the file, fusing and rebuilding the sessions it changes
/// (AddLora), rebuilding only the text encoder (a text-encoder weight change), going back (ClearLoras), and the
/// generation time with the LoRA fused (sessions that override Conv weights run at ORT_ENABLE_EXTENDED instead of
/// ORT_ENABLE_ALL) against none. Medians of --runs. Results: bench/results/lora-cpu.md.
/// </summary>
internal static class LoraBench
{
    public static void Run(Args options)
    {
        var model = Path.GetFullPath(options.Get("model", Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-sd")));
        var file = Path.GetFullPath(options.Get("lora", ""));
        int runs = int.Parse(options.Get("runs", "5"), CultureInfo.InvariantCulture);
        int steps = int.Parse(options.Get("steps", "20"), CultureInfo.InvariantCulture);
        int size = int.Parse(options.Get("size", "64"), CultureInfo.InvariantCulture);
        var threads = options.Get("threads", "") is { Length: > 0 } t ? int.Parse(t, CultureInfo.InvariantCulture) : (int?)null;

        var clock = Stopwatch.StartNew();
        using var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, IntraOpThreads = threads });
        var load = clock.Elapsed;
        var settings = new GenerationSettings { Steps = steps, Width = size, Height = size };
        ImageRequest[] batch = [new("a watercolor painting of a fox in the snow", null, 500, 0)];
        double Generate()
        {
            var c = Stopwatch.StartNew();
            foreach (var r in pipeline.Generate(batch, settings)) r.Dispose();
            return c.Elapsed.TotalMilliseconds;
        }

        Generate(); // warm-up
        var plain = new List<double>();
        var read = new List<double>();
        var add = new List<double>();
        var text = new List<double>();
        var clear = new List<double>();
        var fused = new List<double>();
        // Interleaved, so that load from other processes falls on both generation columns alike.
        for (int i = 0; i < runs; i++)
        {
            plain.Add(Generate());
            var c = Stopwatch.StartNew();
            var entry = LoraEntry.Load(file);
            read.Add(c.Elapsed.TotalMilliseconds);
            c.Restart();
            pipeline.AddLora(entry);
            add.Add(c.Elapsed.TotalMilliseconds);
            if (i == 0) Generate(); // warm-up with the LoRA
            fused.Add(Generate());
            c.Restart();
            pipeline.SetLoras([entry.WithWeights(entry.Weight, 0.5f)]);
            text.Add(c.Elapsed.TotalMilliseconds);
            c.Restart();
            pipeline.ClearLoras();
            clear.Add(c.Elapsed.TotalMilliseconds);
        }

        var lora = LoraEntry.Load(file);
        Console.WriteLine($"Model {Path.GetFileName(model)}, LoRA {Path.GetFileName(file)} ({lora.Modules} modules), {runs} runs, " +
            $"{steps} steps at {size}x{size}, threads {threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}; pipeline load {load.TotalMilliseconds:F0} ms.");
        Console.WriteLine();
        Console.WriteLine("| operation | median ms | min ms |");
        Console.WriteLine("|---|---:|---:|");
        Row("read the LoRA file (LoraEntry.Load)", read);
        Row("AddLora: fuse + rebuild UNet and text encoder", add);
        Row("text-encoder weight change: rebuild the text encoder only", text);
        Row("ClearLoras: rebuild both from the model's weights", clear);
        Row($"generation without LoRA (ORT_ENABLE_ALL)", plain);
        Row($"generation with the LoRA (Conv overrides: ORT_ENABLE_EXTENDED)", fused);
    }

    private static void Row(string what, List<double> values)
    {
        var sorted = values.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {sorted[sorted.Count / 2]:F1} | {sorted[0]:F1} |"));
    }
}
