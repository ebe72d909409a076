using System.Text.Json;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

/// <summary>
/// For machines without the test runner (the GPU machine): runs every case of a reference manifest
/// (-Check &lt;expected/pipeline-diffusers-0.35&gt;) through -ModelPath on -ExecutionProvider and prints the largest image
/// difference per case, against -Tolerance (the fixture README: 1e-4 for float32, 2e-3 for float16 graphs).
/// </summary>
internal static class ParityCheck
{
    public static int Run(Args options)
    {
        string manifestFolder = options.Get("Check", "");
        double tolerance = double.Parse(options.Get("Tolerance", "1e-4"), System.Globalization.CultureInfo.InvariantCulture);
        var pipelineOptions = new PipelineOptions
        {
            ExecutionProvider = Enum.Parse<ExecutionProvider>(options.Get("ExecutionProvider", "Cuda"), ignoreCase: true),
            UNetFixedShapes = options.Get("FixedShapes", "") is { Length: > 0 } fixedShapes ? bool.Parse(fixedShapes) : null, // empty: the provider's default
            UNetIOBinding = options.Get("IOBinding", "") is { Length: > 0 } binding ? bool.Parse(binding) : null,
            UNetMemoryPattern = bool.Parse(options.Get("MemPattern", "false")),
            CudaGraph = bool.Parse(options.Get("CudaGraph", "false")),
            Gpu = new GpuSettings
            {
                PreferNhwc = bool.Parse(options.Get("PreferNhwc", "false")),
                UseTf32 = bool.Parse(options.Get("Tf32", "false")),
                DisabledOptimizers = options.Get("DisableOptimizers", "BiasSoftmaxFusion") is { Length: > 0 } disabled ? disabled.Split(',') : [],
            },
        };
        using var pipeline = StableDiffusionPipeline.Load(options.Get("ModelPath", ""), pipelineOptions);
        Console.WriteLine($"{pipeline.Model.Name} ({pipeline.Precision}) on {pipeline.Provider}; IOBinding {pipeline.UNet.UsesIOBinding}, " +
            $"CUDA graph {pipeline.UNet.UsesCudaGraph}; tolerance {tolerance:E1}");
        if (pipeline.ProviderOptions.Count > 0)
            Console.WriteLine("Provider options (read back): " + string.Join(", ", pipeline.ProviderOptions.Select(kv => $"{kv.Key}={kv.Value}")));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(manifestFolder, "manifest.json")));
        int failed = 0;
        double worst = 0;
        foreach (var c in manifest.RootElement.GetProperty("cases").EnumerateArray())
        {
            string id = c.GetProperty("id").GetString()!;
            var overrides = new Dictionary<string, object?>();
            if (c.GetProperty("scheduler").TryGetProperty("from_config_overrides", out var o) && o.ValueKind == JsonValueKind.Object)
                foreach (var p in o.EnumerateObject()) overrides[p.Name] = p.Value.Clone();
            var prompts = Strings(c.GetProperty("prompt"));
            var negatives = c.TryGetProperty("negative_prompt", out var n) ? Strings(n) : [];
            var seedElement = c.GetProperty("seed");
            long[] seeds = seedElement.ValueKind == JsonValueKind.Array ? seedElement.EnumerateArray().Select(e => e.GetInt64()).ToArray() : [seedElement.GetInt64()];
            var requests = prompts.Select((p, i) => new ImageRequest(p, negatives.Length == 0 ? null : negatives[negatives.Length == 1 ? 0 : i],
                seeds.Length == 1 ? seeds[0] : seeds[i], i)).ToArray();
            var settings = new GenerationSettings
            {
                Steps = c.GetProperty("num_inference_steps").GetInt32(),
                GuidanceScale = (float)c.GetProperty("guidance_scale").GetDouble(),
                GuidanceRescale = c.TryGetProperty("guidance_rescale", out var g) ? (float)g.GetDouble() : 0f,
                Eta = (float)c.GetProperty("eta").GetDouble(),
                Width = c.GetProperty("width").GetInt32(),
                Height = c.GetProperty("height").GetInt32(),
                Scheduler = new SchedulerChoice(c.GetProperty("scheduler").GetProperty("class").GetString()!, overrides),
            };
            var file = Path.Combine(manifestFolder, c.GetProperty("files").GetProperty("image").GetProperty("file").GetString()!);
            var expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(file)).ToArray();
            var results = pipeline.Generate(requests, settings);
            double diff = 0;
            int per = expected.Length / results.Count;
            for (int i = 0; i < results.Count; i++)
                for (int k = 0; k < per; k++)
                    diff = Math.Max(diff, Math.Abs(results[i].Pixels[k] - expected[i * per + k]));
            foreach (var r in results) r.Dispose();
            worst = Math.Max(worst, diff);
            bool ok = diff <= tolerance;
            if (!ok) failed++;
            Console.WriteLine($"{(ok ? "PASS" : "FAIL")} {id}: image max |diff| {diff:E2}");
        }
        Console.WriteLine($"{manifest.RootElement.GetProperty("cases").GetArrayLength() - failed} passed, {failed} failed (worst {worst:E2})");
        return failed == 0 ? 0 : 1;
    }

    private static string[] Strings(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select(x => x.GetString()!).ToArray(),
        _ => [],
    };
}
