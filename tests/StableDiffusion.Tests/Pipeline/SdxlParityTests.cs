using System.Text.Json;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The SDXL fixture pipelines (base, refiner, base with the legacy int64-timestep UNet), loaded once.</summary>
public sealed class SdxlFixture : IDisposable
{
    private static PipelineOptions Cpu => new() { ExecutionProvider = ExecutionProvider.Cpu };
    private readonly Lazy<StableDiffusionPipeline> _base = new(() => StableDiffusionPipeline.Load(Path.Combine(Fixtures.Root, "tiny-sdxl"), Cpu));
    private readonly Lazy<StableDiffusionPipeline> _refiner = new(() => StableDiffusionPipeline.Load(Path.Combine(Fixtures.Root, "tiny-sdxl-refiner"), Cpu));
    private readonly Lazy<(StableDiffusionPipeline, string)> _legacy = new(() =>
    {
        // tiny-sdxl with its UNet swapped for the legacy export: a folder of links to the fixture files (nothing copied).
        var folder = Directory.CreateTempSubdirectory("sdxl-legacy-").FullName;
        var source = Path.Combine(Fixtures.Root, "tiny-sdxl");
        foreach (var entry in Directory.GetFileSystemEntries(source))
        {
            string name = Path.GetFileName(entry);
            if (name == "expected") continue;
            string target = name == "unet" ? Path.Combine(Fixtures.Root, "tiny-sdxl-legacy-timestep", "unet") : entry;
            if (Directory.Exists(target)) Directory.CreateSymbolicLink(Path.Combine(folder, name), target);
            else File.CreateSymbolicLink(Path.Combine(folder, name), target);
        }
        return (StableDiffusionPipeline.Load(folder, Cpu), folder);
    });

    public StableDiffusionPipeline Base => _base.Value;
    public StableDiffusionPipeline Refiner => _refiner.Value;
    public StableDiffusionPipeline LegacyTimestep => _legacy.Value.Item1;

    public void Dispose()
    {
        if (_base.IsValueCreated) _base.Value.Dispose();
        if (_refiner.IsValueCreated) _refiner.Value.Dispose();
        if (_legacy.IsValueCreated)
        {
            _legacy.Value.Item1.Dispose();
            Directory.Delete(_legacy.Value.Item2, recursive: true);
        }
    }
}

/// <summary>
/// SDXL parity with diffusers 0.35.2 (StableDiffusionXLPipeline, StableDiffusionXLImg2ImgPipeline) through the library: every
/// case of tiny-sdxl and tiny-sdxl-refiner, with the README's tolerances — prompt and pooled embeddings ≤ 1e-5, time ids
/// exact, initial noise bit-exact, latents after every step ≤ 1e-3 (+ rtol 1e-4), image ≤ 1e-4, PNG ≤ 1 level — and the
/// base model with the legacy int64-timestep UNet.
/// </summary>
public sealed class SdxlParityTests(SdxlFixture fixture) : IClassFixture<SdxlFixture>
{
    private static string Manifest(string model) => Path.Combine(Fixtures.Root, model, "expected", "pipeline-diffusers-0.35");

    private static IReadOnlyList<JsonElement> Cases(string model)
    {
        using var doc = JsonDocument.Parse(PipelineCase.QuoteNonFinite(File.ReadAllText(Path.Combine(Manifest(model), "manifest.json"))));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    }

    public static TheoryData<string> BaseCases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases("tiny-sdxl")) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    [Fact]
    public void ManifestsHoldTheExpectedCases()
    {
        Assert.Equal(19, Cases("tiny-sdxl").Count);
        Assert.Equal(2, Cases("tiny-sdxl-refiner").Count);
    }

    [Theory]
    [MemberData(nameof(BaseCases))]
    public void BaseMatchesDiffusers(string id) => Check(fixture.Base, Stage.Of("tiny-sdxl", id));

    [Theory]
    [InlineData("euler20_default")]
    [InlineData("batch2_genlist")]
    [InlineData("img2img_strength03")]
    public void LegacyTimestepUNetMatchesDiffusers(string id) => Check(fixture.LegacyTimestep, Stage.Of("tiny-sdxl", id));

    /// <summary>VAE slicing, UNet sub-batches of one row and the dynamic-shape session keep SDXL's batch at parity.</summary>
    [Fact]
    public void MemoryControlsKeepABatchAtParity()
    {
        using var pipeline = StableDiffusionPipeline.Load(Path.Combine(Fixtures.Root, "tiny-sdxl"),
            new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = false, UNetIOBinding = false });
        pipeline.VaeSlicing = true;
        pipeline.UNetBatchSize = 1;
        Check(pipeline, Stage.Of("tiny-sdxl", "size_conditioning_batch2"));
    }

    [Fact]
    public void RefinerImageToImageMatchesDiffusers() => Check(fixture.Refiner, Stage.Of("tiny-sdxl-refiner", "refiner_img2img"));

    /// <summary>Base with denoising_end 0.8 and latent output → refiner with those latents and denoising_start 0.8.</summary>
    [Fact]
    public void BaseToRefinerHandOffMatchesDiffusers()
    {
        var ensemble = Cases("tiny-sdxl-refiner").Single(c => c.GetProperty("id").GetString() == "ensemble_base_refiner_08");
        var stages = ensemble.GetProperty("stages").EnumerateArray().ToArray();
        var files = ensemble.GetProperty("files");
        var baseStage = new Stage(Manifest("tiny-sdxl-refiner"), stages[0], files, "base_");
        var refinerStage = new Stage(Manifest("tiny-sdxl-refiner"), stages[1], files, "refiner_");

        var baseObserver = new RecordingObserver();
        var latents = fixture.Base.GenerateLatents(Requests(baseStage), Settings(baseStage, fixture.Base), baseObserver);
        CheckIntermediates(baseStage, baseObserver);
        Compare.Close(baseStage.F32("output_latents"), latents[0].Latents.Data, 1e-3, "base output latents", rtol: 1e-4);

        var refinerSettings = Settings(refinerStage, fixture.Refiner) with { InitLatents = latents[0].Latents };
        Check(fixture.Refiner, refinerStage, refinerSettings);
    }

    /// <summary>One pipeline call of a case: its arguments and files (the ensemble's stages prefix theirs).</summary>
    internal sealed record Stage(string Folder, JsonElement Case, JsonElement Files, string Prefix)
    {
        public static Stage Of(string model, string id)
        {
            var c = Cases(model).Single(x => x.GetProperty("id").GetString() == id);
            return new Stage(Manifest(model), c, c.GetProperty("files"), "");
        }

        public JsonElement Args => Case.GetProperty("args");
        public string Id => Case.TryGetProperty("id", out var id) ? id.GetString()! : Case.GetProperty("name").GetString()!;
        public bool Has(string name) => Files.TryGetProperty(Prefix + name, out _);
        public string PathOf(string name) => System.IO.Path.Combine(Folder, Files.GetProperty(Prefix + name).GetProperty("file").GetString()!);
        public float[] F32(string name) => Fixtures.ReadF32(PathOf(name));
        public double[] F64(string name) => Fixtures.ReadF64(PathOf(name));
        public string? Arg(string name) => Args.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        public double? Number(string name) => Args.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        public int[]? Pair(string name) => Args.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null;
    }

    internal static ImageRequest[] Requests(Stage s)
    {
        var p = s.Args.GetProperty("prompt");
        string[] prompts = p.ValueKind == JsonValueKind.Array ? p.EnumerateArray().Select(x => x.GetString()!).ToArray() : [p.GetString()!];
        int perPrompt = (int)(s.Number("num_images_per_prompt") ?? 1);
        var seedElement = s.Case.GetProperty("seed");
        long[] seeds = seedElement.ValueKind == JsonValueKind.Array ? seedElement.EnumerateArray().Select(x => x.GetInt64()).ToArray() : [seedElement.GetInt64()];
        var all = prompts.SelectMany(x => Enumerable.Repeat(x, perPrompt)).ToArray();
        Assert.Equal(all.Length, seeds.Length);
        return all.Select((x, i) => new ImageRequest(x, s.Arg("negative_prompt"), seeds[i], i)
            { Prompt2 = s.Arg("prompt_2"), NegativePrompt2 = s.Arg("negative_prompt_2") }).ToArray();
    }

    internal static GenerationSettings Settings(Stage s, StableDiffusionPipeline pipeline)
    {
        var scheduler = s.Case.GetProperty("scheduler");
        var overrides = new Dictionary<string, object?>();
        if (scheduler.TryGetProperty("from_config_overrides", out var o))
            foreach (var kv in o.EnumerateObject()) overrides[kv.Name] = kv.Value.Clone();
        HeightWidth? Size(string name) => s.Pair(name) is { } v ? new HeightWidth(v[0], v[1]) : null;
        TopLeft? Crop(string name) => s.Pair(name) is { } v ? new TopLeft(v[0], v[1]) : null;
        SourceImage? init = s.Case.TryGetProperty("init_image", out var image) && image.ValueKind == JsonValueKind.Object
            ? SourceImageReader.Load(Path.Combine(s.Folder, image.GetProperty("file").GetString()!)) : null;
        return new GenerationSettings
        {
            Steps = (int)s.Number("num_inference_steps")!,
            GuidanceScale = (float)(s.Number("guidance_scale") ?? pipeline.DefaultGuidanceScale),
            GuidanceRescale = (float)(s.Number("guidance_rescale") ?? 0),
            Width = (int?)s.Number("width"),
            Height = (int?)s.Number("height"),
            Scheduler = new SchedulerChoice(scheduler.GetProperty("class").GetString()!, overrides),
            Conditioning = new SdxlConditioning
            {
                ClipSkip = (int?)s.Number("clip_skip"),
                OriginalSize = Size("original_size"),
                CropTopLeft = Crop("crops_coords_top_left"),
                TargetSize = Size("target_size"),
                NegativeOriginalSize = Size("negative_original_size"),
                NegativeCropTopLeft = Crop("negative_crops_coords_top_left"),
                NegativeTargetSize = Size("negative_target_size"),
                AestheticScore = s.Number("aesthetic_score"),
                NegativeAestheticScore = s.Number("negative_aesthetic_score"),
            },
            DenoisingStart = s.Number("denoising_start"),
            DenoisingEnd = s.Number("denoising_end"),
            InitImage = init,
            Strength = init is null ? null : s.Number("strength") ?? GenerationDefaults.Img2ImgStrength,
        };
    }

    /// <summary>Runs a case and checks its intermediates and images against the references (also used by other SDXL suites).</summary>
    internal static void Check(StableDiffusionPipeline pipeline, Stage s, GenerationSettings? settings = null)
    {
        settings ??= Settings(s, pipeline);
        var requests = Requests(s);
        var observer = new RecordingObserver();
        var results = pipeline.Generate(requests, settings, observer);
        try
        {
            CheckIntermediates(s, observer);
            var image = s.F32("image");
            int perImage = image.Length / results.Count;
            for (int i = 0; i < results.Count; i++)
            {
                Compare.Close(image.AsSpan(i * perImage, perImage), results[i].Pixels, 1e-4, $"{s.Id} image {i}");
                var png = s.Case.GetProperty("png")[i].GetProperty("file").GetString()!;
                Compare.Png(Path.Combine(s.Folder, png), results[i].Image, 1, $"{s.Id} PNG {i}");
            }
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }

    private static void CheckIntermediates(Stage s, RecordingObserver observer)
    {
        var prompt = observer.Prompt!;
        Compare.Close(s.F32("prompt_embeds_cond"), prompt.Cond, 1e-5, $"{s.Id} prompt embeddings");
        Compare.Close(s.F32("pooled_prompt_embeds_cond"), prompt.PooledCond, 1e-5, $"{s.Id} pooled embeddings");
        if (prompt.Guided)
        {
            Compare.Close(s.F32("prompt_embeds_uncond"), prompt.Uncond, 1e-5, $"{s.Id} negative prompt embeddings");
            Compare.Close(s.F32("pooled_prompt_embeds_uncond"), prompt.PooledUncond, 1e-5, $"{s.Id} negative pooled embeddings");
        }
        var timeIds = observer.ExtraUNetInputs.Single(t => t.Name == "time_ids");
        Assert.Equal(s.F32("unet_input_time_ids"), timeIds.Data); // exact
        var textEmbeds = observer.ExtraUNetInputs.Single(t => t.Name == "text_embeds");
        Compare.Close(s.F32("unet_input_text_embeds"), textEmbeds.Data, 1e-5, $"{s.Id} UNet text_embeds");
        if (s.Has("initial_noise")) Assert.Equal(s.F32("initial_noise"), observer.InitialNoise); // bit-exact
        if (s.Has("posterior_eps")) Assert.Equal(s.F32("posterior_eps"), observer.VaeEps);
        var latentsIn = s.F32("latents_in");
        Compare.Close(latentsIn, observer.StartLatents, 1e-3, $"{s.Id} latents in", rtol: 1e-4);

        LoopAssert.Timesteps(s.F64("unet_input_timestep"), observer.Timesteps, s.Id);
        LoopAssert.LatentsAfterEachStep(s.F32("latents_after_step"), observer.Latents, s.Id);
    }

}
