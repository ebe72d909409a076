using System.Text.Json;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The inpainting fixture model (9-channel UNet) beside the text-to-image one, loaded once.</summary>
public sealed class ImageTaskFixture : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> _tiny = new(() => StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));
    private readonly Lazy<StableDiffusionPipeline> _inpaint = new(() => StableDiffusionPipeline.Load(Path.Combine(Fixtures.Root, "tiny-sd-inpaint"), new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));

    public StableDiffusionPipeline Tiny => _tiny.Value;
    public StableDiffusionPipeline Inpaint => _inpaint.Value;

    public void Dispose()
    {
        if (_tiny.IsValueCreated) _tiny.Value.Dispose();
        if (_inpaint.IsValueCreated) _inpaint.Value.Dispose();
    }
}

/// <summary>
/// Image-to-image and inpainting parity with diffusers 0.35.2 (StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline)
/// through the library: every case of expected/img2img-diffusers-0.35 and expected/inpaint-diffusers-0.35, with the
/// tolerances of the fixture README — pre-processed image and mask ≤ 1/255, VAE distribution parameters ≤ 2e-4, the
/// generator's draws (VAE sample eps and latent noise) bit-exact, sampled latents ≤ 2e-4, timesteps and begin index exact,
/// latents after every step ≤ 1e-3 (+ rtol 1e-4), image ≤ 1e-4, PNG ≤ 1 level.
/// </summary>
public sealed class ImageTaskParityTests(ImageTaskFixture fixture) : IClassFixture<ImageTaskFixture>
{
    public const string Img2Img = "img2img-diffusers-0.35";
    public const string Inpaint = "inpaint-diffusers-0.35";

    public static TheoryData<string> Img2ImgCases() => PipelineCase.Ids(Img2Img);
    public static TheoryData<string> InpaintCases() => PipelineCase.Ids(Inpaint);

    [Fact]
    public void ManifestsHoldTheExpectedCases()
    {
        Assert.Equal(16, PipelineCase.Load(Img2Img).Count);
        Assert.Equal(14, PipelineCase.Load(Inpaint).Count);
    }

    [Theory]
    [MemberData(nameof(Img2ImgCases))]
    public void ImageToImageMatchesDiffusers(string id) => Check(fixture.Tiny, Find(Img2Img, id), inpaint: false);

    [Theory]
    [MemberData(nameof(InpaintCases))]
    public void InpaintingMatchesDiffusers(string id)
    {
        var c = Find(Inpaint, id);
        Check(id.StartsWith("inp9_", StringComparison.Ordinal) ? fixture.Inpaint : fixture.Tiny, c, inpaint: true);
    }

    /// <summary>
    /// The 9-channel sample keeps working with the memory controls: UNet sub-batches of one row, sliced attention and the
    /// dynamic-shape session give diffusers' image as the default fixed-shape IOBinding path does.
    /// </summary>
    [Theory]
    [InlineData("inp9_batch2_genlist_ddim_s100", true)]
    [InlineData("inp9_batch2_genlist_ddim_s100", false)]
    [InlineData("inp4_eulera_batch2_genlist_s100", true)]
    public void InpaintingWorksWithSubBatchesAndSlicedAttention(string id, bool fixedShapes)
    {
        var c = Find(Inpaint, id);
        string folder = id.StartsWith("inp9_", StringComparison.Ordinal) ? Path.Combine(Fixtures.Root, "tiny-sd-inpaint") : Fixtures.TinySd;
        using var pipeline = StableDiffusionPipeline.Load(folder, new PipelineOptions
            { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = fixedShapes, UNetIOBinding = fixedShapes });
        pipeline.UNetBatchSize = 1;
        Assert.True(pipeline.EnableAttentionSlicing(StableDiffusion.Graph.AttentionSliceSize.Max).Changed);
        Check(pipeline, c, inpaint: true);
    }

    /// <summary>The float16-IO fixture (its VAE encoder's in-graph sample rewritten through the Cast) within the README's 2e-3.</summary>
    [Theory]
    [InlineData(Img2Img, "pndm_s075")]
    [InlineData(Img2Img, "batch2_genlist_eulera_s050")]
    [InlineData(Inpaint, "inp4_ddim_s060_soft")]
    public void Float16GraphsRunTheImageTasks(string manifest, string id)
    {
        var c = Find(manifest, id);
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        var raw = c.Raw;
        var settings = new GenerationSettings
        {
            Steps = c.Steps, GuidanceScale = c.GuidanceScale, Eta = c.Eta, Width = OptionalInt(raw, "width"), Height = OptionalInt(raw, "height"),
            Scheduler = new SchedulerChoice(c.SchedulerClass, c.SchedulerOverrides), InitImage = Input(c, "image"),
            Mask = manifest == Inpaint ? Input(c, "mask_image") : null, Strength = raw.GetProperty("strength").GetDouble(),
        };
        var results = pipeline.Generate(Requests(c), settings);
        try
        {
            var image = c.F32("image");
            int perImage = image.Length / results.Count;
            for (int i = 0; i < results.Count; i++)
                Compare.Close(image.AsSpan(i * perImage, perImage), results[i].Pixels, 2e-3, $"{id} float16-IO image {i}");
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }

    public static TheoryData<string> SchedulerClasses()
    {
        var data = new TheoryData<string>();
        foreach (var r in StableDiffusion.Schedulers.SchedulerRegistry.Registrations) data.Add(r.ClassName);
        return data;
    }

    /// <summary>
    /// Every scheduler starts image-to-image and 4-channel inpainting mid-schedule (begin index, add_noise, second-order
    /// and multistep histories from there) and ends with finite, deterministic images; the same seed gives the same image.
    /// </summary>
    [Theory]
    [MemberData(nameof(SchedulerClasses))]
    public void EverySchedulerRunsTheImageTasks(string scheduler)
    {
        var c = Find(Inpaint, "inp4_euler_s075_rect");
        var image = Input(c, "image");
        var mask = Input(c, "mask_image");
        foreach (var withMask in new[] { false, true })
        {
            var settings = new GenerationSettings
            {
                Steps = 5, Width = 64, Height = 64, Scheduler = new SchedulerChoice(scheduler), InitImage = image,
                Mask = withMask ? mask : null, Strength = 0.55,
            };
            float[] Run()
            {
                var results = fixture.Tiny.Generate([new ImageRequest("a lighthouse", null, 3)], settings);
                try { return results[0].Pixels; }
                finally { foreach (var r in results) r.Dispose(); }
            }
            var first = Run();
            Assert.All(first, v => Assert.True(float.IsFinite(v), $"{scheduler}: non-finite pixel"));
            Assert.Equal(first, Run());
        }
    }

    private static PipelineCase Find(string manifest, string id) => PipelineCase.Load(manifest).Single(c => c.Id == id);

    /// <summary>The case's call as a batch: prompts × images per prompt, one generator (seed) per image, as the cases use.</summary>
    private static ImageRequest[] Requests(PipelineCase c)
    {
        var raw = c.Raw;
        string[] prompts = raw.GetProperty("prompt").ValueKind == JsonValueKind.Array
            ? raw.GetProperty("prompt").EnumerateArray().Select(p => p.GetString()!).ToArray()
            : [raw.GetProperty("prompt").GetString()!];
        string? negative = raw.GetProperty("negative_prompt").ValueKind == JsonValueKind.String ? raw.GetProperty("negative_prompt").GetString() : null;
        int perPrompt = raw.GetProperty("num_images_per_prompt").GetInt32();
        var seedElement = raw.GetProperty("seed");
        long[] seeds = seedElement.ValueKind == JsonValueKind.Array ? seedElement.EnumerateArray().Select(s => s.GetInt64()).ToArray() : [seedElement.GetInt64()];
        var prompt = prompts.SelectMany(p => Enumerable.Repeat(p, perPrompt)).ToArray();
        Assert.Equal(prompt.Length, seeds.Length); // one generator per image in every case
        return prompt.Select((p, i) => new ImageRequest(p, negative, seeds[i], i)).ToArray();
    }

    private static SourceImage Input(PipelineCase c, string property)
    {
        var e = c.Raw.GetProperty(property);
        string file = e.TryGetProperty("files", out var files) ? files[0].GetString()! : e.GetProperty("file").GetString()!;
        return SourceImageReader.Load(c.FixturePath(file));
    }

    private static int? OptionalInt(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static void Check(StableDiffusionPipeline pipeline, PipelineCase c, bool inpaint)
    {
        var raw = c.Raw;
        var settings = new GenerationSettings
        {
            Steps = c.Steps,
            GuidanceScale = c.GuidanceScale,
            Eta = c.Eta,
            Width = OptionalInt(raw, "width"),
            Height = OptionalInt(raw, "height"),
            Scheduler = new SchedulerChoice(c.SchedulerClass, c.SchedulerOverrides),
            InitImage = Input(c, "image"),
            Mask = inpaint ? Input(c, "mask_image") : null,
            Strength = raw.GetProperty("strength").GetDouble(),
            MaskCropPadding = OptionalInt(raw, "padding_mask_crop"),
        };
        var requests = Requests(c);
        var observer = new RecordingObserver();
        var results = pipeline.Generate(requests, settings, observer);
        try
        {
            Assert.Equal(requests.Length, results.Count);
            Compare.Close(c.F32("image_preprocessed"), observer.Image, 1.0 / 255 + 1e-6, $"{c.Id} pre-processed image");
            if (inpaint)
            {
                Compare.Close(c.F32("mask_preprocessed"), observer.Mask, 0, $"{c.Id} pre-processed mask");
                Compare.Close(c.F32("masked_image"), observer.MaskedImage, 1.0 / 255 + 1e-6, $"{c.Id} masked image");
                Compare.Close(c.F32("mask_latents"), observer.MaskLatents, 0, $"{c.Id} mask latents");
                Compare.Close(c.F32("masked_image_latents"), observer.MaskedImageLatents, 2e-4, $"{c.Id} masked-image latents");
            }
            // One encode of the single init image gives the parameters diffusers' per-row encodes of the same image give.
            var parameters = c.F32("vae_latent_parameters");
            if (observer.VaeParameters.Length < parameters.Length && parameters.Length % observer.VaeParameters.Length == 0)
                observer.VaeParameters = Enumerable.Repeat(observer.VaeParameters, parameters.Length / observer.VaeParameters.Length).SelectMany(x => x).ToArray();
            Compare.Close(parameters, observer.VaeParameters, 2e-4, $"{c.Id} VAE distribution parameters");
            Assert.Equal(c.F32("vae_sample_eps"), observer.VaeEps); // the generator's draws, bit-exact
            Compare.Close(c.F32("vae_latent_sample"), observer.VaeSamples, 2e-4, $"{c.Id} VAE samples");
            if (c.HasFile("init_latents")) Compare.Close(c.F32("init_latents"), observer.ImageLatents, 2e-4, $"{c.Id} init latents");
            if (c.HasFile("image_latents")) Compare.Close(c.F32("image_latents"), observer.ImageLatents, 2e-4, $"{c.Id} image latents");
            Assert.Equal(c.F32("noise"), observer.InitialNoise);
            Compare.Close(c.F32("start_latents"), observer.StartLatents, 1e-3, $"{c.Id} start latents", rtol: 1e-4);

            Assert.Equal(raw.GetProperty("strength_mapping").GetProperty("begin_index").GetInt32(), observer.BeginIndex);
            LoopAssert.Timesteps(raw.GetProperty("timesteps_used").EnumerateArray().Select(t => t.GetDouble()).ToArray(), observer.Timesteps, c.Id);
            LoopAssert.LatentsAfterEachStep(c.F32("latents_after_step"), observer.Latents, c.Id);

            if (c.HasFile("image"))
            {
                var image = c.F32("image");
                int perImage = image.Length / results.Count;
                for (int i = 0; i < results.Count; i++)
                    Compare.Close(image.AsSpan(i * perImage, perImage), results[i].Pixels, 1e-4, $"{c.Id} image {i}");
            }
            else
            {
                // padding_mask_crop: the decoded crop before the overlay, then the overlaid PIL image.
                Compare.Close(c.F32("image_before_overlay"), UnitImage(observer.VaeOutput, results[0].Settings.Height!.Value, results[0].Settings.Width!.Value), 1e-4, $"{c.Id} image before overlay");
            }
            for (int i = 0; i < results.Count; i++)
                Compare.Png(c.PngPath(i), results[i].Image, 1, $"{c.Id} PNG {i}");
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }

    /// <summary>The decoder output as diffusers' float image: NHWC (x/2 + 0.5).clamp(0, 1).</summary>
    private static float[] UnitImage(float[] decoded, int height, int width)
    {
        var own = new float[decoded.Length];
        ImageConversion.ToUnitRange(decoded, 1, height, width, own);
        return own;
    }
}
