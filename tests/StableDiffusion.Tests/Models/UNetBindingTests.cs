using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// The UNet's IOBinding path (fixed-shape sessions, buffers reused every step) on the CPU provider: the same images as
/// the plain path on the same sessions (fp32 atol 1e-6), close to the dynamic-shape session, the float16-IO fixture
/// within the README's 2e-3 of the float32 references, fixed dimensions as asked (read back from the session), and
/// one session per shape.
/// </summary>
public sealed class UNetBindingTests
{
    private const string Current = "pipeline-diffusers-0.35";

    private static StableDiffusionPipeline Load(string folder, bool binding, int cacheSize = 1, bool fixedShapes = true) => StableDiffusionPipeline.Load(folder,
        new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = fixedShapes, UNetIOBinding = binding, UNetSessionCacheSize = cacheSize });

    private static GenerationSettings Settings(PipelineCase c) => new()
    {
        Steps = c.Steps,
        GuidanceScale = c.GuidanceScale,
        GuidanceRescale = c.GuidanceRescale,
        Eta = c.Eta,
        Width = c.Width,
        Height = c.Height,
        Scheduler = new SchedulerChoice(c.SchedulerClass, c.SchedulerOverrides),
    };

    private static float[][] Images(StableDiffusionPipeline pipeline, PipelineCase c)
    {
        var results = pipeline.Generate(c.Requests, Settings(c));
        try { return results.Select(r => r.Pixels).ToArray(); }
        finally { foreach (var r in results) r.Dispose(); }
    }

    // CFG batch 1 and 4, no CFG (UNet batch 1), 128² batch 3 with negative prompts, a stochastic scheduler.
    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("batch4_pndm20")]
    [InlineData("nocfg_gs1")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    [InlineData("eulerancestral20")]
    public void BoundPathGivesThePlainPathsImages(string id)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var plain = Load(Fixtures.TinySd, binding: false);
        using var bound = Load(Fixtures.TinySd, binding: true);
        Assert.True(plain.UNet.UsesFixedShapes);
        Assert.False(plain.UNet.UsesIOBinding);
        Assert.True(bound.UNet.UsesIOBinding);
        var expected = Images(plain, c);
        var actual = Images(bound, c);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Compare.Close(expected[i], actual[i], 1e-6, $"{id} image {i}: IOBinding vs plain");
        Assert.Equal(1, bound.UNet.SessionsCreated);
    }

    /// <summary>
    /// Fixed shapes let ONNX Runtime's CPU layout optimizations (ORT_ENABLE_ALL) fuse differently than on the dynamic
    /// session (with ORT_ENABLE_EXTENDED both are bit-identical): measured ≤ 1.3e-6 per UNet call and ≤ 1.6e-6 on the
    /// images of these cases. Both stay within the README's 1e-4 of diffusers (PipelineParityTests run the default,
    /// fixed-shape path).
    /// </summary>
    [Theory]
    [InlineData("batch4_pndm20")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    [InlineData("eulerancestral20")]
    public void FixedShapeSessionsStayWithinRoundingOfTheDynamicSession(string id)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var dynamic = Load(Fixtures.TinySd, binding: false, fixedShapes: false);
        using var bound = Load(Fixtures.TinySd, binding: true);
        Assert.False(dynamic.UNet.UsesFixedShapes);
        var expected = Images(dynamic, c);
        var actual = Images(bound, c);
        for (int i = 0; i < expected.Length; i++)
            Compare.Close(expected[i], actual[i], 1e-5, $"{id} image {i}: fixed-shape IOBinding vs dynamic session");
    }

    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    [InlineData("ddim_zerosnr_vpred_rescale20")]
    public void Float16IoFixtureThroughTheBoundPathMatchesTheFloat32References(string id)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var bound = Load(Fixtures.TinySdFp16Io, binding: true);
        Assert.True(bound.UNet.UsesIOBinding);
        Assert.Equal("float16", bound.Precision);
        var actual = Images(bound, c);
        var reference = c.F32("image");
        int per = reference.Length / actual.Length;
        for (int i = 0; i < actual.Length; i++)
            Compare.Close(reference.AsSpan(i * per, per), actual[i], 2e-3, $"{id} image {i}: fp16io through IOBinding vs diffusers fp32");
    }

    [Fact]
    public void FixedShapeSessionHasExactlyTheDimensionsAsked()
    {
        using var pipeline = Load(Fixtures.TinySd, binding: true);
        var shape = new UNetShape(Batch: 6, Channels: 4, Height: 12, Width: 8, SequenceLength: 77, HiddenSize: 32);
        var dims = pipeline.UNet.FreeDimensions(shape);
        // The fixture's UNet names its free dimensions batch/channels/height/width/sequence (tiny-sd README).
        Assert.Equal(new Dictionary<string, long> { ["batch"] = 6, ["channels"] = 4, ["height"] = 12, ["width"] = 8, ["sequence"] = 77 },
            dims.ToDictionary(kv => kv.Key, kv => kv.Value));

        var factory = new SessionFactory(ExecutionProvider.Cpu);
        using var session = factory.Create(pipeline.Model.UNetPath, "unet", dims, cudaGraph: false);
        // Read back from ONNX Runtime: the overrides became the graph's input and output shapes.
        Assert.Equal([6, 4, 12, 8], session.InputMetadata["sample"].Dimensions);
        Assert.Equal([6], session.InputMetadata["timestep"].Dimensions);
        Assert.Equal([6, 77, 32], session.InputMetadata["encoder_hidden_states"].Dimensions);
        Assert.Equal([6, 4, 12, 8], session.OutputMetadata["out_sample"].Dimensions);
        Assert.Empty(factory.ProviderOptions); // the CPU provider takes no provider options
    }

    [Fact]
    public void OneSessionPerShapeReusedAcrossGenerationsAndEvictedBeyondTheCache()
    {
        using var pipeline = Load(Fixtures.TinySd, binding: true);
        var cat = new[] { new ImageRequest("a photo of a cat", null, 0, 0) };
        void Run(int size) { foreach (var r in pipeline.Generate(cat, new GenerationSettings { Steps = 2, Width = size, Height = size })) r.Dispose(); }

        Run(64);
        Run(64);
        Assert.Equal(1, pipeline.UNet.SessionsCreated);
        Assert.Equal([new UNetShape(2, 4, 8, 8, 77, 32)], pipeline.UNet.LoadedShapes);
        Run(96);
        Assert.Equal(2, pipeline.UNet.SessionsCreated);
        Assert.Equal([new UNetShape(2, 4, 12, 12, 77, 32)], pipeline.UNet.LoadedShapes); // capacity 1: the 64² session was freed
        // The load-time session was released once the UNet ran on fixed-shape sessions.
        var e = Assert.Throws<InvalidOperationException>(() => pipeline.UNet.Session);
        Assert.Contains("fixed-shape", e.Message);

        using var two = Load(Fixtures.TinySd, binding: true, cacheSize: 2);
        foreach (var size in new[] { 64, 96, 64, 96 })
            foreach (var r in two.Generate(cat, new GenerationSettings { Steps = 2, Width = size, Height = size })) r.Dispose();
        Assert.Equal(2, two.UNet.SessionsCreated);
    }

    [Fact]
    public void CudaGraphsAreRefusedOffCuda()
    {
        var e = Assert.Throws<ArgumentException>(() => StableDiffusionPipeline.Load(Fixtures.TinySd,
            new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, CudaGraph = true }));
        Assert.Contains("Cuda", e.Message);
    }

    [Fact]
    public void CpuDefaultsRunTheDynamicSessionThroughBuffersBoundPerLoop()
    {
        using var defaults = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        Assert.False(defaults.UNet.UsesFixedShapes);
        Assert.True(defaults.UNet.UsesIOBinding);
        Assert.False(defaults.Options.UNetFixedShapes);
        Assert.True(defaults.Options.UNetIOBinding);
    }

    // The dynamic session bound once per loop (the CPU default) computes what its plain runs do, bit for bit, at CFG
    // batch 1 and 4, without CFG, at 128² batch 3, and with sub-batches (each with buffers of its own).
    [Theory]
    [InlineData("pndm20_default", null)]
    [InlineData("batch4_pndm20", null)]
    [InlineData("batch4_pndm20", 3)]
    [InlineData("nocfg_gs1", null)]
    [InlineData("dpmpp2m_karras20_batch3_128", null)]
    public void DynamicSessionBoundPerLoopGivesItsPlainRunsImages(string id, int? unetBatch)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var plain = Load(Fixtures.TinySd, binding: false, fixedShapes: false);
        using var bound = Load(Fixtures.TinySd, binding: true, fixedShapes: false);
        plain.UNetBatchSize = bound.UNetBatchSize = unetBatch;
        Assert.False(plain.UNet.UsesIOBinding);
        Assert.True(bound.UNet.UsesIOBinding);
        Assert.Equal(0, bound.UNet.SessionsCreated);
        var expected = Images(plain, c);
        var actual = Images(bound, c);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], actual[i]);
    }
}
