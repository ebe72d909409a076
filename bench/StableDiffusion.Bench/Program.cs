using System.Diagnostics;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

// Per-stage timings of a generation: dotnet run -c Release --project bench/StableDiffusion.Bench -- [options]
//   --model <folder>  (default ../shared/fixtures/tiny-sd)   --provider Cpu|Cuda|Auto   --steps 20
//   --size 64         --batch 1   --runs 5   --warmup 1   --threads N   --spin true|false   --fixed true|false
//                     (intra-op threads, thread spinning, fixed-shape UNet sessions; default: the library's)
//   --task img2img|inpaint  --init <png> --mask <png> --strength 0.75   (defaults: the fixture's inputs; inpaint runs
//                     ../shared/fixtures/tiny-sd-inpaint unless --model is given)
//   --lora <file>      LoRA cost (LoraBench): read, fuse + session rebuild, text-encoder-only rebuild, clear, and the
//                     generation time with it fused (ORT_ENABLE_EXTENDED for Conv overrides) vs without; --runs 5
//   --a1111 true       A1111 prompt encoding (A1111PromptBench): a ~300-token A1111 prompt vs a 77-token Plain one, on the
//                     fixture and ~/.cache/sd-refenv/sd15-random when present (--model: that one only); --runs 21
//   --schedulers true  per-step cost of every scheduler on a 2×4×64×64 latent instead
//   -ModelPath <folder> -ExecutionProvider Cuda -Precision Float16 -Steps 20 -BatchSize 1,2,4,8 -Scheduler <name> -Runs 3
//                     seconds per image, it/s, UNet and overhead ms per step, peak memory per batch size (ThroughputBench)
//   -ModelPath <folder> -Check <expected/pipeline-diffusers-0.35> -Tolerance 1e-4   image parity per reference case (ParityCheck)
//   --memory true      peak memory with and without attention slicing (--size 512 --steps 1 --batches 1,4), a process per row
//   --weights true     RSS per fixed-shape CPU session per way of sharing weights (WeightSharingBench), a process per row
//   --floor <folder>   the bare ONNX Runtime floor beside the module's generation, per stage, with peak RSS (FloorBench):
//                     --size 512 --steps 2 --scheduler Euler --variants defaults,fixed (default: both), a process per variant;
//                     --phase module: the module alone per process (a clean peak RSS, no floor run before it)
//   --soak 1000        N generations on one pipeline, then --cycles 100 load/generate/dispose cycles, RSS after a GC
//                     sampled along the way, growth against the 5 % target (SoakBench); --size 64 --steps 2;
//                     --trim true: malloc_trim(0) before each sample (allocator-kept memory vs a leak);
//                     --cycle generate (default: load, one generation, dispose) | load (no generation) | onnx (the graphs
//                     as bare ONNX Runtime sessions, created and disposed: the control); --gc aggressive: the samples'
//                     GC decommits its free memory (GCCollectionMode.Aggressive)
var options = Args.Parse(args);
if (options.Get("floor-child", "") is { Length: > 0 } floorVariant)
{
    FloorBench.Child(floorVariant, options.Get("model", ""), int.Parse(options.Get("size", "512")), int.Parse(options.Get("steps", "2")),
        options.Get("scheduler", "EulerDiscreteScheduler"), options.Get("phase", "both"));
    return;
}
if (options.Get("floor", "") != "")
{
    FloorBench.Run(options);
    return;
}
if (options.Get("soak", "") is { Length: > 0 } soak)
{
    SoakBench.Run(Path.GetFullPath(options.Get("model", Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-sd"))),
        int.Parse(soak), int.Parse(options.Get("cycles", "100")), int.Parse(options.Get("size", "64")), int.Parse(options.Get("steps", "2")),
        bool.Parse(options.Get("trim", "false")), options.Get("cycle", "generate").ToLowerInvariant(),
        options.Get("gc", "forced").Equals("aggressive", StringComparison.OrdinalIgnoreCase));
    return;
}
if (options.Get("a1111", "false").Equals("true", StringComparison.OrdinalIgnoreCase))
{
    A1111PromptBench.Run(options);
    return;
}
if (options.Get("lora", "") != "")
{
    LoraBench.Run(options);
    return;
}
if (options.Get("Check", "") != "")
{
    Environment.ExitCode = ParityCheck.Run(options);
    return;
}
if (options.Get("ModelPath", "") != "")
{
    ThroughputBench.Run(options);
    return;
}
if (options.Get("memory-child", "") is { Length: > 0 } childSlicing)
{
    MemoryBench.Child(options.Get("model", ""), Enum.Parse<ExecutionProvider>(options.Get("provider", "Cpu"), ignoreCase: true),
        int.Parse(options.Get("size", "512")), int.Parse(options.Get("steps", "1")), int.Parse(options.Get("batch", "1")), childSlicing, options.Get("out", ""));
    return;
}
if (options.Get("memory", "") != "")
{
    MemoryBench.Run(Path.GetFullPath(options.Get("model", Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-sd"))),
        Enum.Parse<ExecutionProvider>(options.Get("provider", "Cpu"), ignoreCase: true), int.Parse(options.Get("size", "512")),
        int.Parse(options.Get("steps", "1")), options.Get("batches", "1,4").Split(',').Select(int.Parse).ToArray());
    return;
}
if (options.Get("weights-child", "") is { Length: > 0 } sharing)
{
    WeightSharingBench.Child(sharing, options.Get("model", ""));
    return;
}
if (options.Get("weights", "") != "")
{
    WeightSharingBench.Run();
    return;
}
if (options.Get("schedulers", "") != "")
{
    SchedulerBench.Run(options.Get("model", Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-sd")), int.Parse(options.Get("steps", "20")));
    return;
}
string task = options.Get("task", "txt2img").ToLowerInvariant();
string fixtures = Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures");
string model = options.Get("model", Path.Combine(fixtures, task == "inpaint" ? "tiny-sd-inpaint" : "tiny-sd"));
string inputs = Path.Combine(fixtures, "tiny-sd", "expected", task == "inpaint" ? "inpaint-diffusers-0.35" : "img2img-diffusers-0.35", "inputs");
var initImage = task == "txt2img" ? null : SourceImageReader.Load(options.Get("init", Path.Combine(inputs, "img_64x64.png")));
var mask = task == "inpaint" ? SourceImageReader.Load(options.Get("mask", Path.Combine(inputs, "mask_rect_64x64_L.png"))) : null;
var provider = Enum.Parse<ExecutionProvider>(options.Get("provider", "Cpu"), ignoreCase: true);
int steps = int.Parse(options.Get("steps", "20"));
int size = int.Parse(options.Get("size", "64"));
int batch = int.Parse(options.Get("batch", "1"));
int runs = int.Parse(options.Get("runs", "5"));
int warmup = int.Parse(options.Get("warmup", "1"));

var load = Stopwatch.StartNew();
using var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions
{
    ExecutionProvider = provider,
    IntraOpThreads = options.Get("threads", "") is { Length: > 0 } threads ? int.Parse(threads) : null,
    ThreadSpinning = options.Get("spin", "") is { Length: > 0 } spin ? bool.Parse(spin) : null,
    UNetFixedShapes = options.Get("fixed", "") is { Length: > 0 } fixedShapes ? bool.Parse(fixedShapes) : null,
});
load.Stop();
var settings = new GenerationSettings
{
    Steps = steps, Width = size, Height = size, InitImage = initImage, Mask = mask, GuidanceScale = pipeline.DefaultGuidanceScale,
    Strength = initImage is null ? null : double.Parse(options.Get("strength", "0.75"), System.Globalization.CultureInfo.InvariantCulture),
};
var requests = Enumerable.Range(0, batch).Select(i => new ImageRequest("a photo of a cat", null, i, i)).ToArray();

var samples = new List<(GenerationTimings Timings, double PngMs, double WallMs)>();
for (int run = 0; run < warmup + runs; run++)
{
    var wall = Stopwatch.StartNew();
    var results = pipeline.Generate(requests, settings);
    wall.Stop();
    var png = Stopwatch.StartNew();
    foreach (var r in results)
    {
        using var stream = new MemoryStream();
        PngFile.Write(r.Image, stream, new Dictionary<string, string> { ["parameters"] = r.ToParameters().ToText() });
    }
    png.Stop();
    if (run >= warmup) samples.Add((results[0].Timings, png.Elapsed.TotalMilliseconds, wall.Elapsed.TotalMilliseconds));
    foreach (var r in results) r.Dispose();
}

double Median(Func<(GenerationTimings Timings, double PngMs, double WallMs), double> pick)
{
    var values = samples.Select(pick).OrderBy(v => v).ToArray();
    return values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
}

int iterations = samples[0].Timings.Iterations;
Console.WriteLine($"{task}: model {pipeline.Model.Name} ({pipeline.Precision}) on {pipeline.Provider}, {size}x{size}, batch {batch}, " +
    $"{steps} steps ({iterations} UNet calls), scheduler {pipeline.Scheduler}, median of {runs} runs after {warmup} warm-up; " +
    $"{Environment.ProcessorCount} logical CPUs; load {load.Elapsed.TotalMilliseconds:F0} ms");
Console.WriteLine();
Console.WriteLine("| stage | ms |");
Console.WriteLine("|---|---:|");
Console.WriteLine($"| tokenize (batch) | {Median(s => s.Timings.Tokenize.TotalMilliseconds):F3} |");
Console.WriteLine($"| text encoder (batch) | {Median(s => s.Timings.TextEncoder.TotalMilliseconds):F3} |");
if (initImage is not null)
    Console.WriteLine($"| prepare latents: pre-process, VAE encode, sample, add_noise (batch) | {Median(s => s.Timings.PrepareLatents.TotalMilliseconds):F3} |");
Console.WriteLine($"| UNet per step | {Median(s => s.Timings.UNet.TotalMilliseconds / iterations):F3} |");
Console.WriteLine($"| non-UNet work per step (scale, guidance, scheduler) | {Median(s => s.Timings.Scheduler.TotalMilliseconds / iterations):F4} |");
Console.WriteLine($"| VAE decode (batch) | {Median(s => s.Timings.VaeDecoder.TotalMilliseconds):F3} |");
Console.WriteLine($"| post-process to 8-bit (batch) | {Median(s => s.Timings.Postprocess.TotalMilliseconds):F3} |");
Console.WriteLine($"| PNG encode (batch) | {Median(s => s.PngMs):F3} |");
Console.WriteLine($"| whole generation (batch) | {Median(s => s.WallMs):F1} |");

/// <summary>Minimal --key value parsing.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public static Args Parse(string[] args)
    {
        var result = new Args();
        for (int i = 0; i + 1 < args.Length; i += 2)
            result._values[args[i].TrimStart('-')] = args[i + 1];
        return result;
    }

    public string Get(string key, string fallback) => _values.TryGetValue(key, out var v) ? v : fallback;

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Pipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
