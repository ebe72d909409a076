using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// Memory controls give the images of the plain pipeline: attention slicing, VAE slicing, UNet sub-batches and
/// low-memory mode within atol 1e-5 of the unsliced run (the fp32 tolerance), and within the fixture's image
/// tolerance (atol 1e-4) of diffusers' reference images.
/// </summary>
public sealed class PipelineMemoryTests
{
    private const double SameAtol = 1e-5;
    private const double ReferenceAtol = 1e-4;
    private const string Current = PipelineParityTests.Current;

    private static StableDiffusionPipeline Load(MemoryOptions? memory = null) =>
        StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Memory = memory ?? MemoryOptions.Default });

    private static PipelineCase Case(string id) => PipelineCase.Load(Current).Single(c => c.Id == id);

    private static GenerationSettings Settings(PipelineCase c) => new()
    {
        Steps = c.Steps,
        GuidanceScale = c.GuidanceScale,
        Eta = c.Eta,
        Width = c.Width,
        Height = c.Height,
        Scheduler = new SchedulerChoice(c.SchedulerClass, c.SchedulerOverrides),
    };

    private static float[] Images(StableDiffusionPipeline pipeline, PipelineCase c) =>
        pipeline.Generate(c.Requests, Settings(c)).SelectMany(r => r.Pixels).ToArray();

    [Fact]
    public void AttentionSlicing_EnableDisableRoundTrip_GivesTheSameImages()
    {
        var c = Case("pndm20_default");
        using var pipeline = Load();
        var plain = Images(pipeline, c);
        Compare.Close(c.F32("image"), plain, ReferenceAtol, "unsliced vs diffusers");
        Assert.Null(pipeline.AttentionSlicing);

        foreach (var size in new[] { AttentionSliceSize.Auto, AttentionSliceSize.Max, AttentionSliceSize.Heads(3) })
        {
            var result = pipeline.EnableAttentionSlicing(size);
            Assert.Equal(AttentionSlicingOutcome.Sliced, result.Outcome);
            Assert.Same(result, pipeline.AttentionSlicing);
            var sliced = Images(pipeline, c);
            Compare.Close(plain, sliced, SameAtol, $"slice size {size} vs unsliced");
            Compare.Close(c.F32("image"), sliced, ReferenceAtol, $"slice size {size} vs diffusers");
        }

        pipeline.DisableAttentionSlicing();
        Assert.Null(pipeline.AttentionSlicing);
        Compare.Close(plain, Images(pipeline, c), SameAtol, "after disabling");
        pipeline.DisableAttentionSlicing(); // idempotent
        Assert.Null(pipeline.AttentionSlicing);
    }

    [Fact]
    public void AttentionSlicing_AllHeadsInOneSlice_RestoresTheOriginalGraph()
    {
        using var pipeline = Load();
        pipeline.EnableAttentionSlicing(AttentionSliceSize.Max);
        Assert.NotNull(pipeline.AttentionSlicing);
        var result = pipeline.EnableAttentionSlicing(AttentionSliceSize.Heads(8));
        Assert.Equal(AttentionSlicingOutcome.NothingToSlice, result.Outcome);
        Assert.Null(pipeline.AttentionSlicing);
        Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.EnableAttentionSlicing(AttentionSliceSize.Heads(9)));
        Assert.Null(pipeline.AttentionSlicing);
    }

    [Fact]
    public void VaeSlicingAndUNetSubBatches_GiveTheSameImages()
    {
        var c = Case("batch4_pndm20");
        using var pipeline = Load();
        var plain = Images(pipeline, c);
        Compare.Close(c.F32("image"), plain, ReferenceAtol, "batch 4 vs diffusers");

        pipeline.VaeSlicing = true;
        var vaeSliced = Images(pipeline, c);
        Compare.Close(plain, vaeSliced, SameAtol, "VAE slicing vs batch decode");
        Compare.Close(c.F32("image"), vaeSliced, ReferenceAtol, "VAE slicing vs diffusers");

        pipeline.VaeSlicing = false;
        pipeline.UNetBatchSize = 3; // 8 UNet rows with guidance: 3 + 3 + 2
        var subBatched = Images(pipeline, c);
        Compare.Close(plain, subBatched, SameAtol, "UNet sub-batches of 3 vs one batch of 8");
        Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.UNetBatchSize = 0);
    }

    [Fact]
    public void LowMemoryMode_ReleasesTextEncoderAndVaeBetweenUses_WithTheSameImages()
    {
        var c = Case("nocfg_gs1");
        using var pipeline = Load(new MemoryOptions { LowMemory = true, ArenaStrategy = ArenaStrategy.Disabled });
        Assert.Equal((false, false), pipeline.ResidentSessions);
        var images = Images(pipeline, c);
        Assert.Equal((false, false), pipeline.ResidentSessions);
        Compare.Close(c.F32("image"), images, ReferenceAtol, "low memory vs diffusers");
        Compare.Close(images, Images(pipeline, c), SameAtol, "second low-memory run");
        Assert.True(pipeline.Memory.LowMemory);
        Assert.Equal("arena Disabled, low memory", pipeline.Memory.ToString());
    }
}
