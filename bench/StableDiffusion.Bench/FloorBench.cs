using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Text;

/// <summary>
/// The ONNX Runtime floor beside the module (--floor &lt;model folder&gt;): per variant (the defaults — on the CPU the
/// dynamic-shape UNet session — and fixed shapes = UNetFixedShapes and UNetIOBinding on; --variants defaults,fixed),
/// one child process runs, in one run,
/// (a) the floor: the text_encoder, unet and vae_decoder sessions made by the library's own <see cref="SessionFactory"/>
///     with the variant's options (the UNet with its free dimensions fixed where the module fixes them), fed fixed
///     inputs (the prompt's and the empty prompt's ids, random latents at CFG batch 2, timestep, the embeddings) and run
///     with a plain <c>Run</c> per stage: text encoder once (batch 2), UNet × steps (batch 2), VAE decode once (batch 1);
///     twice (cold, then warm); then everything is disposed;
/// (b) the module: <see cref="StableDiffusionPipeline.Load"/> and two <c>Generate</c> calls (cold, warm) of the same size,
///     steps and scheduler, guidance 7.5, reading <see cref="GenerationTimings"/> and, per step, the observer's step time.
/// The peak resident set (VmHWM) of each phase is read from /proc/self/status; it is reset between the phases by
/// writing 5 to /proc/self/clear_refs. Prints the table of stage, floor ms, module ms and ratio.
/// </summary>
internal static class FloorBench
{
    private const string Prompt = "a photo of an astronaut riding a horse on mars";

    public static void Run(Args options)
    {
        string model = Path.GetFullPath(options.Get("floor", ""));
        int size = int.Parse(options.Get("size", "512"), CultureInfo.InvariantCulture);
        int steps = int.Parse(options.Get("steps", "2"), CultureInfo.InvariantCulture);
        string scheduler = options.Get("scheduler", "EulerDiscreteScheduler");
        if (scheduler.Equals("Euler", StringComparison.OrdinalIgnoreCase)) scheduler = "EulerDiscreteScheduler";
        var variants = options.Get("variants", "defaults,fixed").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (variants.FirstOrDefault(v => v is not ("defaults" or "fixed")) is { } unknown)
            throw new ArgumentException($"Unknown --variants entry '{unknown}': give defaults, fixed or both (comma-separated).");
        string phase = options.Get("phase", "both"); // "module": the module alone in each child, for a clean peak RSS
        var reports = new List<(string Variant, ChildReport? Report, string? Error)>();
        foreach (var variant in variants)
        {
            Console.Error.WriteLine($"== {variant}: child process ({phase})");
            reports.Add(RunChild(variant, model, size, steps, scheduler, phase));
        }
        Print(model, size, steps, scheduler, reports);
    }

    private static PipelineOptions OptionsFor(string variant, string scheduler) => new PipelineOptions()
    {
        ExecutionProvider = ExecutionProvider.Cpu,
        Scheduler = new SchedulerChoice(scheduler),
        UNetFixedShapes = variant == "fixed" ? true : null, // null: the provider's default
        UNetIOBinding = variant == "fixed" ? true : null,
    }.ForProvider(ExecutionProvider.Cpu);

    private static (string, ChildReport?, string?) RunChild(string variant, string model, int size, int steps, string scheduler, string phase)
    {
        // stderr is inherited: the child's progress shows as it runs.
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(FloorBench).Assembly.Location);
        foreach (var a in new[] { "--floor-child", variant, "--model", model, "--size", size.ToString(CultureInfo.InvariantCulture),
            "--steps", steps.ToString(CultureInfo.InvariantCulture), "--scheduler", scheduler, "--phase", phase })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("REPORT ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
            return (variant, null, process.ExitCode == 137 ? "killed (out of memory?)" : $"exit code {process.ExitCode}");
        return (variant, JsonSerializer.Deserialize<ChildReport>(line["REPORT ".Length..])!, null);
    }

    /// <summary>The child: the floor, then the module, in this one process; the report as one JSON line on stdout.</summary>
    public static void Child(string variant, string model, int size, int steps, string scheduler, string phase = "both")
    {
        var options = OptionsFor(variant, scheduler);
        long startRss = MemoryBench.ReadStatus("VmRSS");
        var floor = phase == "module" ? null : Floor(model, size, steps, options, options.UNetFixedShapes == true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long betweenRss = MemoryBench.ReadStatus("VmRSS");
        bool reset = ResetPeak();
        Console.Error.WriteLine($"   floor done; RSS now {betweenRss >> 20} MiB; peak reset: {reset}");
        var module = Module(model, size, steps, options);
        var report = new ChildReport(variant, startRss, floor, betweenRss, reset, module, OrtVersion(), Environment.ProcessorCount);
        Console.WriteLine("REPORT " + JsonSerializer.Serialize(report));
    }

    private static string OrtVersion()
    {
        try
        {
            return OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException)
        {
            return typeof(InferenceSession).Assembly.GetName().Version?.ToString() ?? "?";
        }
    }

    /// <summary>Resets the peak resident set (VmHWM) to the current one (Linux: "5" to clear_refs).</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static FloorReport Floor(string folder, int size, int steps, PipelineOptions po, bool fixedUNet)
    {
        var model = ModelFolder.Open(folder);
        var factory = new SessionFactory(po.ExecutionProvider, po.DeviceId, po.Memory) { Gpu = po.Gpu, FixedShapeMemoryPattern = po.UNetMemoryPattern };
        var tokenizer = ClipTokenizer.FromDirectory(Path.Combine(folder, "tokenizer"));
        int seq = tokenizer.MaxLength, h = size / 8, w = size / 8;

        var load = Stopwatch.StartNew();
        using var text = factory.Create(model.TextEncoderPath, "text_encoder");
        double textLoad = Lap(load);
        var unetGraph = OnnxGraphFile.Load(model.UNetPath, loadExternalData: false);
        var unetDims = new Dictionary<string, long>(StringComparer.Ordinal);
        if (fixedUNet)
        {
            // What UNetIo.FreeDimensions gives the module's fixed-shape session: each named dimension of the inputs.
            void Name(string input, long[] actual)
            {
                var dims = unetGraph.Graph.Input.First(i => i.Name == input).Type.TensorType.Shape.Dim;
                for (int i = 0; i < dims.Count && i < actual.Length; i++)
                    if (!string.IsNullOrEmpty(dims[i].DimParam)) unetDims[dims[i].DimParam] = actual[i];
            }
            var inputs = unetGraph.Graph.Input.Select(i => i.Name).ToArray();
            Name(inputs[0], [2, 4, h, w]);
            Name(inputs[1], [2]);
            Name(inputs[2], [2, seq, 768]);
        }
        load.Restart();
        using var unet = fixedUNet ? factory.Create(model.UNetPath, "unet", unetDims, cudaGraph: false) : factory.Create(model.UNetPath, "unet");
        double unetLoad = Lap(load);
        using var vae = factory.Create(model.VaeDecoderPath, "vae_decoder");
        double vaeLoad = Lap(load);
        long afterLoad = MemoryBench.ReadStatus("VmRSS");
        Console.Error.WriteLine($"   floor sessions: text {textLoad:F0} ms, unet {unetLoad:F0} ms ({(fixedUNet ? "fixed " + string.Join(",", unetDims.Select(d => $"{d.Key}={d.Value}")) : "dynamic")}), vae {vaeLoad:F0} ms; RSS {afterLoad >> 20} MiB");

        // Inputs: the empty prompt's and the prompt's ids (CFG batch 2), random latents, a timestep.
        var ids = new int[2 * seq];
        tokenizer.Encode("").Ids.CopyTo(ids.AsSpan(0, seq));
        tokenizer.Encode(Prompt).Ids.CopyTo(ids.AsSpan(seq, seq));
        var idsMeta = text.InputMetadata.First();
        using var idsValue = idsMeta.Value.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), [2, seq])
            : OrtValue.CreateTensorValueFromMemory(ids, [2, seq]);
        var rng = new Random(0);
        var latents = new float[2 * 4 * h * w];
        for (int i = 0; i < latents.Length; i++) latents[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        var unetInputs = unet.InputMetadata.Keys.ToArray();
        var timestepMeta = unet.InputMetadata[unetInputs[1]];
        long[] timestepShape = timestepMeta.Dimensions.Length == 0 ? [] : [timestepMeta.Dimensions[0] > 0 ? timestepMeta.Dimensions[0] : 2];
        int timestepCount = timestepShape.Length == 0 ? 1 : (int)timestepShape[0];
        using var timestep = timestepMeta.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64
            ? OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(999L, timestepCount).ToArray(), timestepShape)
            : OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(999f, timestepCount).ToArray(), timestepShape);
        using var sample = OrtValue.CreateTensorValueFromMemory(latents, [2, 4, h, w]);
        using var vaeInput = OrtValue.CreateTensorValueFromMemory(latents.AsSpan(0, 4 * h * w).ToArray(), [1, 4, h, w]);
        using var runOptions = new RunOptions();
        string textOut = text.OutputMetadata.Keys.First(), unetOut = unet.OutputMetadata.Keys.First(), vaeOut = vae.OutputMetadata.Keys.First();
        string vaeIn = vae.InputMetadata.Keys.First();

        var passes = new List<FloorPass>();
        for (int pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            float[] hidden;
            using (var o = text.Run(runOptions, [idsMeta.Key], [idsValue], [textOut])) hidden = o[0].GetTensorDataAsSpan<float>().ToArray();
            double textMs = Lap(clock);
            using var hiddenValue = OrtValue.CreateTensorValueFromMemory(hidden, [2, seq, hidden.Length / (2 * seq)]);
            var unetMs = new double[steps];
            for (int s = 0; s < steps; s++)
            {
                clock.Restart();
                using (var o = unet.Run(runOptions, unetInputs, [sample, timestep, hiddenValue], [unetOut])) o[0].GetTensorDataAsSpan<float>().ToArray();
                unetMs[s] = Lap(clock);
            }
            clock.Restart();
            using (var o = vae.Run(runOptions, [vaeIn], [vaeInput], [vaeOut])) o[0].GetTensorDataAsSpan<float>().ToArray();
            double vaeMs = Lap(clock);
            passes.Add(new FloorPass(textMs, unetMs, vaeMs));
            Console.Error.WriteLine($"   floor pass {pass}: text {textMs:F0} ms, unet {string.Join(" ", unetMs.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))} ms, vae {vaeMs:F0} ms");
        }
        return new FloorReport(textLoad, unetLoad, vaeLoad, afterLoad, MemoryBench.ReadStatus("VmHWM"), passes);
    }

    private static ModuleReport Module(string folder, int size, int steps, PipelineOptions options)
    {
        var load = Stopwatch.StartNew();
        using var pipeline = StableDiffusionPipeline.Load(folder, options);
        double loadMs = Lap(load);
        long afterLoad = MemoryBench.ReadStatus("VmRSS");
        Console.Error.WriteLine($"   module load {loadMs:F0} ms; RSS {afterLoad >> 20} MiB");
        var settings = new GenerationSettings { Steps = steps, Width = size, Height = size, GuidanceScale = 7.5f };
        var runs = new List<ModuleRun>();
        for (int run = 0; run < 2; run++)
        {
            var observer = new StepClock();
            var wall = Stopwatch.StartNew();
            var results = pipeline.Generate([new ImageRequest(Prompt, null, 0)], settings, observer);
            double wallMs = Lap(wall);
            var t = results[0].Timings;
            runs.Add(new ModuleRun(wallMs, t.Tokenize.TotalMilliseconds, t.TextEncoder.TotalMilliseconds, t.UNet.TotalMilliseconds,
                t.Scheduler.TotalMilliseconds, t.VaeDecoder.TotalMilliseconds, t.Postprocess.TotalMilliseconds, t.Iterations,
                observer.Steps.ToArray(), MemoryBench.ReadStatus("VmHWM")));
            foreach (var r in results) r.Dispose();
            Console.Error.WriteLine($"   module generation {run}: {wallMs:F0} ms (unet {t.UNet.TotalMilliseconds:F0}, loop other {t.Scheduler.TotalMilliseconds:F1}, vae {t.VaeDecoder.TotalMilliseconds:F0})");
        }
        return new ModuleReport(loadMs, afterLoad, runs);
    }

    private static double Lap(Stopwatch clock)
    {
        double ms = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        return ms;
    }

    /// <summary>Each step's time as the denoising loop measures it (UNet included).</summary>
    private sealed class StepClock : GenerationObserver
    {
        public List<double> Steps { get; } = [];
        public override void OnStep(StepInfo step) => Steps.Add(step.Elapsed.TotalMilliseconds);
    }

    private static void Print(string model, int size, int steps, string scheduler, List<(string Variant, ChildReport? Report, string? Error)> reports)
    {
        var any = reports.FirstOrDefault(r => r.Report is not null).Report;
        Console.WriteLine($"Floor vs module: {Path.GetFileName(model.TrimEnd('/'))} at {size}x{size}, {scheduler} {steps} steps, guidance 7.5 " +
            $"(UNet batch 2), CPU provider, ONNX Runtime {any?.OrtVersion ?? "?"}, {Environment.ProcessorCount} logical CPUs; " +
            "one process per variant (floor, then module, in that process); cold = the first run/generation in the process, warm = the second.");
        foreach (var (variant, r, error) in reports)
        {
            Console.WriteLine();
            if (r is null)
            {
                Console.WriteLine($"### {variant}: failed ({error})");
                continue;
            }
            var resolved = OptionsFor(variant, scheduler);
            Console.WriteLine($"### {variant} (UNetFixedShapes {resolved.UNetFixedShapes}, UNetIOBinding {resolved.UNetIOBinding})");
            Console.WriteLine();
            if (r.Floor is null)
            {
                foreach (var (m, i) in r.Module.Runs.Select((m, i) => (m, i)))
                    Console.WriteLine($"- module alone, generation {(i == 0 ? "cold" : "warm")}: {m.WallMs:F0} ms (UNet {m.UNetMs / m.Iterations:F0} ms per step, " +
                        $"loop other {m.SchedulerMs:F1} ms, VAE {m.VaeMs:F0} ms), peak RSS so far {m.PeakRssBytes >> 20} MiB");
                Console.WriteLine($"- module alone: load {r.Module.LoadMs:F0} ms; RSS at start {r.StartRssBytes >> 20} MiB, after load {r.Module.AfterLoadRssBytes >> 20} MiB.");
                continue;
            }
            Console.WriteLine("| stage | floor cold ms | module cold ms | ratio | floor warm ms | module warm ms | ratio |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            string Ratio(double m, double f) => f > 0 ? (m / f).ToString("F3", CultureInfo.InvariantCulture) : "–";
            void Row(string stage, Func<FloorPass, double> f, Func<ModuleRun, double> m) =>
                Console.WriteLine($"| {stage} | {f(r.Floor.Passes[0]):F1} | {m(r.Module.Runs[0]):F1} | {Ratio(m(r.Module.Runs[0]), f(r.Floor.Passes[0]))} | " +
                    $"{f(r.Floor.Passes[1]):F1} | {m(r.Module.Runs[1]):F1} | {Ratio(m(r.Module.Runs[1]), f(r.Floor.Passes[1]))} |");
            Row("text encoder (batch 2; module: + tokenize)", f => f.TextMs, m => m.TextEncoderMs + m.TokenizeMs);
            Row("UNet per step (batch 2)", f => f.UNetMs.Average(), m => m.UNetMs / m.Iterations);
            Row("VAE decode (batch 1)", f => f.VaeMs, m => m.VaeMs);
            Row("whole generation (floor: sum of stages)", f => f.TextMs + f.UNetMs.Sum() + f.VaeMs, m => m.WallMs);
            Console.WriteLine();
            for (int i = 0; i < 2; i++)
            {
                var m = r.Module.Runs[i];
                double inLoop = (m.StepMs.Sum() - m.UNetMs) / m.Iterations * 1000;
                double outside = m.WallMs - (m.TokenizeMs + m.TextEncoderMs + m.UNetMs + m.SchedulerMs + m.VaeMs + m.PostprocessMs);
                Console.WriteLine($"- module {(i == 0 ? "cold" : "warm")}: non-ONNX work per step inside the loop (step time − UNet Run) {inLoop:F0} µs; " +
                    $"loop time outside the UNet (GenerationTimings.Scheduler: binding/fixed-shape session creation + steps) {m.SchedulerMs:F1} ms " +
                    $"= {m.SchedulerMs / m.Iterations * 1000:F0} µs per step; post-process {m.PostprocessMs:F1} ms; rest of Generate {outside:F1} ms.");
            }
            for (int i = 0; i < 2; i++)
            {
                var (f, m) = (r.Floor.Passes[i], r.Module.Runs[i]);
                double unetRatio = m.UNetMs / m.Iterations / f.UNetMs.Average(), inLoop = (m.StepMs.Sum() - m.UNetMs) / m.Iterations * 1000;
                double wholeRatio = m.WallMs / (f.TextMs + f.UNetMs.Sum() + f.VaeMs);
                string Met(bool ok) => ok ? "met" : "not met";
                Console.WriteLine($"- targets, {(i == 0 ? "cold" : "warm")}: UNet per step ≤ floor + 2 %: {(unetRatio - 1) * 100:+0.0;-0.0} % ({Met(unetRatio <= 1.02)}); " +
                    $"non-ONNX work per step ≤ 50 µs: {inLoop:F0} µs in the loop, {m.SchedulerMs / m.Iterations * 1000:F0} µs with the loop's set-up ({Met(m.SchedulerMs / m.Iterations * 1000 <= 50)}); " +
                    $"whole generation ≤ floor stages + 2 %: {(wholeRatio - 1) * 100:+0.0;-0.0} % ({Met(wholeRatio <= 1.02)}).");
            }
            Console.WriteLine($"- load: floor sessions text {r.Floor.TextLoadMs:F0} + unet {r.Floor.UNetLoadMs:F0} + vae {r.Floor.VaeLoadMs:F0} ms; " +
                $"module StableDiffusionPipeline.Load {r.Module.LoadMs:F0} ms.");
            Console.WriteLine($"- RSS: process start {r.StartRssBytes >> 20} MiB; floor after load {r.Floor.AfterLoadRssBytes >> 20} MiB, " +
                $"floor peak {r.Floor.PeakRssBytes >> 20} MiB; after the floor's dispose {r.BetweenRssBytes >> 20} MiB " +
                $"(peak reset: {r.PeakReset}); module after load {r.Module.AfterLoadRssBytes >> 20} MiB, module peak cold {r.Module.Runs[0].PeakRssBytes >> 20} MiB, " +
                $"after warm {r.Module.Runs[1].PeakRssBytes >> 20} MiB.");
        }
    }

    internal sealed record FloorPass(double TextMs, double[] UNetMs, double VaeMs);

    internal sealed record FloorReport(double TextLoadMs, double UNetLoadMs, double VaeLoadMs, long AfterLoadRssBytes, long PeakRssBytes, List<FloorPass> Passes);

    internal sealed record ModuleRun(double WallMs, double TokenizeMs, double TextEncoderMs, double UNetMs, double SchedulerMs, double VaeMs,
        double PostprocessMs, int Iterations, double[] StepMs, long PeakRssBytes);

    internal sealed record ModuleReport(double LoadMs, long AfterLoadRssBytes, List<ModuleRun> Runs);

    internal sealed record ChildReport(string Variant, long StartRssBytes, FloorReport? Floor, long BetweenRssBytes, bool PeakReset,
        ModuleReport Module, string OrtVersion, int Cpus);
}
