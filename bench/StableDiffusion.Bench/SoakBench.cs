using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

/// <summary>
/// Issue 13's soak: one pipeline, N generations (64², 2 steps, a new seed each), then load/dispose cycles (load, one
/// generation, dispose). Resident memory (VmRSS after a full GC, so only what is really held counts) is sampled at
/// generation 1, 10, 100 and every 100 after, and every 10 cycles; the verdict compares generation 100 with the last
/// generation and cycle 10 with the last cycle against the 5 % target. The managed heap is printed beside RSS so that
/// growth can be told apart: managed (objects kept alive) or native (sessions, OrtValues, arenas), with the thread and
/// open-file counts (a session whose thread pool or file handles outlive Dispose shows there). With trim, glibc's
/// malloc_trim(0) runs before each sample: memory that comes back then was freed but kept by the allocator, not leaked.
/// </summary>
internal static class SoakBench
{
    private const double TargetGrowthPercent = 5;

    public static void Run(string model, int generations, int cycles, int size, int steps, bool trim, string cycleKind, bool aggressiveGc)
    {
        _trim = trim;
        _aggressive = aggressiveGc;
        var settingsFor = (StableDiffusionPipeline p) => new GenerationSettings
        {
            Steps = steps, Width = size, Height = size, GuidanceScale = p.DefaultGuidanceScale,
        };
        Console.WriteLine($"Soak: {Path.GetFileName(model.TrimEnd('/'))}, {size}x{size}, {steps} steps, CPU provider; " +
            $"{Environment.ProcessorCount} logical CPUs; .NET {Environment.Version}; RSS = VmRSS after a full GC" + (trim ? " and malloc_trim(0)." : "."));
        Console.WriteLine();

        var generationSamples = new List<Sample>();
        var clock = Stopwatch.StartNew();
        using (var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }))
        {
            var settings = settingsFor(pipeline);
            for (int g = 1; g <= generations; g++)
            {
                Generate(pipeline, settings, seed: g);
                if (g == 1 || g == 10 || g % 100 == 0 || g == generations) generationSamples.Add(Measure(g, clock));
            }
        }
        Print("generation", generationSamples);
        var generationVerdict = Verdict("generation", generationSamples, from: Math.Min(100, generations));

        var cycleSamples = new List<Sample>();
        clock.Restart();
        for (int c = 1; c <= cycles; c++)
        {
            if (cycleKind == "onnx") LoadBareSessions(model);
            else
                using (var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }))
                    if (cycleKind != "load") Generate(pipeline, settingsFor(pipeline), seed: c);
            if (c == 1 || c % 10 == 0 || c == cycles) cycleSamples.Add(Measure(c, clock));
        }
        Console.WriteLine();
        Print(cycleKind switch
        {
            "onnx" => "bare ONNX Runtime load/dispose cycle (no pipeline, no generation)",
            "load" => "pipeline load/dispose cycle (no generation)",
            _ => "load/generate/dispose cycle",
        }, cycleSamples);
        var cycleVerdict = Verdict("cycle", cycleSamples, from: Math.Min(10, cycles));

        Console.WriteLine();
        Console.WriteLine(generationVerdict);
        Console.WriteLine(cycleVerdict);
    }

    private static void Generate(StableDiffusionPipeline pipeline, GenerationSettings settings, long seed)
    {
        var results = pipeline.Generate([new ImageRequest("a photo of a cat", null, seed)], settings);
        foreach (var r in results) r.Dispose();
    }

    /// <summary>The control for the cycles: the same graphs as plain ONNX Runtime sessions, created and disposed.</summary>
    private static void LoadBareSessions(string model)
    {
        foreach (var component in new[] { "text_encoder", "unet", "vae_decoder" })
        {
            using var options = new SessionOptions();
            using var session = new InferenceSession(Path.Combine(model, component, "model.onnx"), options);
        }
    }

    private static bool _trim;
    private static bool _aggressive;

    private sealed record Sample(int At, long RssBytes, long AnonBytes, long FileBytes, long ManagedBytes, long CommittedBytes, long Threads, int OpenFiles, double Seconds);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static Sample Measure(int at, Stopwatch clock)
    {
        // A full, compacting collection with finalizers run: what is left is what the process really holds. The large
        // object heap is compacted too (it never is by default): the graphs' byte arrays live there.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        // Aggressive (with --gc aggressive) also decommits the GC's free regions: what it gives back was never a leak.
        var mode = _aggressive ? GCCollectionMode.Aggressive : GCCollectionMode.Forced;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, mode, blocking: true, compacting: true);
        if (_trim) MallocTrim(0);
        var sample = new Sample(at, MemoryBench.ReadStatus("VmRSS"), MemoryBench.ReadStatus("RssAnon"), MemoryBench.ReadStatus("RssFile"), GC.GetTotalMemory(forceFullCollection: false), GC.GetGCMemoryInfo().TotalCommittedBytes, ReadThreads(),
            Directory.GetFiles("/proc/self/fd").Length, clock.Elapsed.TotalSeconds);
        Console.Error.WriteLine($"{at}: RSS {Mib(sample.RssBytes)} MiB (anonymous {Mib(sample.AnonBytes)}, files {Mib(sample.FileBytes)}), managed {Mib(sample.ManagedBytes)} MiB (committed {Mib(sample.CommittedBytes)}), {sample.Threads} threads, {sample.OpenFiles} open files");
        return sample;
    }

    private static void Print(string what, List<Sample> samples)
    {
        Console.WriteLine($"| {what} | RSS (MiB) | anonymous (MiB) | file-backed (MiB) | managed heap (MiB) | GC committed (MiB) | threads | open files | elapsed (s) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in samples)
            Console.WriteLine($"| {s.At} | {Mib(s.RssBytes)} | {Mib(s.AnonBytes)} | {Mib(s.FileBytes)} | {Mib(s.ManagedBytes)} | {Mib(s.CommittedBytes)} | {s.Threads} | {s.OpenFiles} | {s.Seconds.ToString("F1", CultureInfo.InvariantCulture)} |");
    }

    private static string Verdict(string what, List<Sample> samples, int from)
    {
        var first = samples.First(s => s.At == from);
        var last = samples[^1];
        double growth = (last.RssBytes / (double)first.RssBytes - 1) * 100;
        string verdict = Math.Abs(growth) <= TargetGrowthPercent ? "PASS" : "FAIL";
        return $"RSS {what} {first.At} → {last.At}: {Mib(first.RssBytes)} → {Mib(last.RssBytes)} MiB, " +
            $"{growth.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture)} % (target within {TargetGrowthPercent} %): {verdict}";
    }

    // Threads: is a plain count in /proc/self/status (ReadStatus scales by 1024 for kB fields).
    private static long ReadThreads() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}
