using System.Diagnostics;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The memory pre-flight: the estimate's terms, its calibration, and the pipeline refusing a batch before it runs.</summary>
public sealed class MemoryEstimateTests
{
    private const double GiB = 1L << 30;

    // The fixture's UNet: 32 first-level channels, 8 heads at the latent resolution; its VAE: 16 top channels (README).
    private static readonly MemoryProfile Tiny = new(32, 8, 1, 16);

    [Fact]
    public void AttentionScores_AreBatchTimesHeadsTimesTokensSquared_TimesTheLiveCopies()
    {
        // 512×512 → 64×64 latents = 4096 tokens; guidance doubles the batch: 2 × 8 × 4096² floats per score tensor.
        const double scoreTensor = 2.0 * 8 * 4096 * 4096 * 4;
        var e = MemoryEstimate.For(Tiny, images: 1, width: 512, height: 512);
        Assert.Equal(scoreTensor * MemoryEstimate.ScoreTensorsUnsliced, e.AttentionScores);
        var unguided = MemoryEstimate.For(Tiny, 1, 512, 512, guided: false);
        Assert.Equal(e.AttentionScores / 2, unguided.AttentionScores);
        var sliced = MemoryEstimate.For(Tiny, 1, 512, 512, headsPerSlice: 1);
        Assert.Equal(scoreTensor / 8 * MemoryEstimate.ScoreTensorsSliced, sliced.AttentionScores);
        var subBatches = MemoryEstimate.For(Tiny, 4, 512, 512, unetBatchSize: 1);
        Assert.Equal(e.AttentionScores / 2, subBatches.AttentionScores);
        var cuda = MemoryEstimate.For(Tiny, 1, 512, 512, cuda: true, bytesPerElement: 2);
        Assert.Equal(scoreTensor / 2 * MemoryEstimate.ScoreTensorsUnslicedCuda, cuda.AttentionScores);
    }

    [Theory]
    // The fixture's process peak above its loaded size, measured with /proc/self/status VmHWM (one step, CPU, float32).
    [InlineData(512, 1, false, 11_835)]
    [InlineData(384, 1, false, 3_949)]
    [InlineData(256, 4, false, 3_279)]
    [InlineData(512, 1, true, 716)]
    public void Calibration_TheEstimateCoversTheMeasuredPeak_WithoutDoublingIt(int size, int images, bool sliced, double measuredMiB)
    {
        var e = MemoryEstimate.For(MemoryProfile.StableDiffusion with { UNetChannels = 32 }, images, size, size, headsPerSlice: sliced ? 1 : null);
        double estimateMiB = e.Peak / (1 << 20);
        Assert.InRange(estimateMiB / measuredMiB, 0.85, 2.0);
    }

    [Fact]
    public void Calibration_TheLowerBoundCoversTheFullSizeSd15Peak_WithoutExceedingIt()
    {
        // bench/results/full-size-cpu.md (FloorBench, sd15-random, 512², Euler 2 steps, guidance, CPU): process peak
        // 8592 MiB, 4416 MiB after load → 4176 MiB for the generation.
        const double measuredMiB = 8592 - 4416;
        var e = MemoryEstimate.For(MemoryProfile.StableDiffusion, 1, 512, 512, least: true);
        Assert.InRange(e.Peak / (1 << 20) / measuredMiB, 0.9, 1.25);
        // The fixture's count is an upper bound for the same shape.
        Assert.True(MemoryEstimate.For(MemoryProfile.StableDiffusion, 1, 512, 512).Peak > e.Peak);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void StableDiffusionFloat32At512_IsNotRefusedOnA24GBMachine_AtItsLowerBound(int images)
    {
        // Batch 1 to 4 at 512² ran on 24 GB machines before the pre-flight existed (batch 1 peaks at 8.6 GB).
        var e = MemoryEstimate.For(MemoryProfile.StableDiffusion, images, 512, 512, least: true);
        Assert.True(e.Peak < 20e9, $"{images} images estimated at {MemoryEstimate.Format(e.Peak)}");
    }

    [Fact]
    public void Calibration_MatchesTheMeasuredOneGiBArenaCase()
    {
        // PipelineMemoryLimitTests measures the fixture at 512×512 under a 1 GiB arena: unsliced it fails, sliced (one
        // head at a time) it renders. The estimate must say the same of each UNet peak.
        Assert.True(MemoryEstimate.For(Tiny, 1, 512, 512).AttentionScores > GiB);
        var sliced = MemoryEstimate.For(Tiny, 1, 512, 512, headsPerSlice: 1);
        Assert.True(sliced.AttentionScores + sliced.UNetActivations < GiB);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void StableDiffusionFloat16At512_FitsA24GBCard(int images)
    {
        var e = MemoryEstimate.For(MemoryProfile.StableDiffusion, images, 512, 512, bytesPerElement: 2, cuda: true);
        Assert.True(e.Peak < 22e9, $"{images} images estimated at {MemoryEstimate.Format(e.Peak)}");
    }

    [Fact]
    public void StableDiffusionAt512_OnTheCpu_FitsA24GBMachineAlone_AndNeedsSlicingForFour()
    {
        Assert.True(MemoryEstimate.For(MemoryProfile.StableDiffusion, 1, 512, 512).Peak < 22e9);
        // Four images unsliced keep 8 × 8 × 4096² score tensors (4 GiB each) live, as measured on the fixture: not on 24 GB.
        Assert.True(MemoryEstimate.For(MemoryProfile.StableDiffusion, 4, 512, 512).Peak > 24e9);
        Assert.True(MemoryEstimate.For(MemoryProfile.StableDiffusion, 4, 512, 512, headsPerSlice: 1).Peak < 22e9);
    }

    [Fact]
    public void HugeSizesAndBatches_AreEstimatedFarBeyondAnyMachine_WithoutOverflow()
    {
        var huge = MemoryEstimate.For(MemoryProfile.StableDiffusion, 1, 65536, 65536);
        Assert.True(huge.Peak > 1e15 && double.IsFinite(huge.Peak));
        var batch = MemoryEstimate.For(MemoryProfile.StableDiffusion, 2000, 512, 512);
        Assert.True(batch.Peak > 1e12);
        Assert.Equal("2 GiB", MemoryEstimate.Format(2 * GiB));
    }

    [Fact]
    public void TheFixture_HasNoConfigs_SoTheFamilyProfileApplies()
    {
        Assert.Equal(MemoryProfile.StableDiffusion, MemoryProfile.Of(ModelFolder.Open(Fixtures.TinySd)));
    }

    [Fact]
    public void AvailableCpuMemory_IsKnownOnLinux_AndNamesTheCpu()
    {
        var available = new AvailableMemory(ExecutionProvider.Cpu, 0);
        Assert.Equal("the CPU", available.Device);
        Assert.Equal("CUDA device 1", new AvailableMemory(ExecutionProvider.Cuda, 1).Device);
        if (!OperatingSystem.IsLinux()) return;
        long? free = available.Query();
        Assert.NotNull(free);
        Assert.InRange(free!.Value, 1L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
    }

    [Fact]
    public void ThePipeline_RefusesA65536SquareImage_BeforeAnythingRuns()
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InsufficientMemoryForBatchException>(() =>
            pipeline.Generate([new ImageRequest("a cat", null, 0, 0)], new GenerationSettings { Steps = 2, Width = 65536, Height = 65536 }));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal("the CPU", e.Device);
        Assert.True(e.Estimate.Peak > e.Available);
        Assert.Contains("on the CPU", e.Message);
        Assert.DoesNotContain("GPU", e.Message);
        Assert.Contains("-Width", e.Message);
        Assert.Contains("Enable-SdAttentionSlicing", e.Message);
    }

    [Fact]
    public void ThePipeline_RefusesABatchOf2000_AndNamesTheBatchRemedies()
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        var batch = Enumerable.Range(0, 2000).Select(i => new ImageRequest("a cat", null, i, i)).ToArray();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InsufficientMemoryForBatchException>(() =>
            pipeline.Generate(batch, new GenerationSettings { Steps = 2, Width = 512, Height = 512 }));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains("2000 images of 512×512", e.Message);
        Assert.Contains("-BatchSize 1", e.Message);
    }

    [Fact]
    public void TheFixturesNormalSizes_PassThePreflight()
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        foreach (var (w, h) in new[] { (64, 64), (96, 64), (64, 96), (128, 128) })
            Assert.True(pipeline.EstimateMemory(4, new GenerationSettings { Width = w, Height = h }).Peak < 1L << 30);
        var result = Assert.Single(pipeline.Generate([new ImageRequest("a cat", null, 0, 0)], new GenerationSettings { Steps = 1, Width = 64, Height = 64 }));
        Assert.Equal(64 * 64 * 3, result.Pixels.Length);
    }

    [Fact]
    public void OutOfMemory_OnTheCpu_NamesTheCpu()
    {
        var cpu = new DeviceOutOfMemoryException("in the unet on [2, 4, 64, 64]", new InvalidOperationException("bad_alloc"), "the CPU");
        Assert.StartsWith("The CPU ran out of memory in the unet", cpu.Message);
        Assert.DoesNotContain("GPU", cpu.Message);
        var gpu = new DeviceOutOfMemoryException("in the unet", null, "the GPU (CUDA device 0)");
        Assert.StartsWith("The GPU (CUDA device 0) ran out of memory", gpu.Message);
    }

    [Fact]
    public void ABatchRefusedByThePreflight_IsNotRetriedImageByImage()
    {
        var batcher = new GenerationBatcher<ImageRequest>(3, _ => new GenerationSettings());
        int calls = 0;
        var failures = new List<int>();
        batcher.Render<GenerationResult>([new("a", null, 1), new("b", null, 2), new("c", null, 3)], r => r,
            (_, _) => { calls++; throw new InsufficientMemoryForBatchException("no", MemoryEstimate.For(Tiny, 3, 64, 64), 1, "the CPU"); },
            deliver: (_, _, _) => { }, retrying: (_, _) => throw new InvalidOperationException("not retried"),
            failed: (_, _, attempts) => failures.Add(attempts), isCancellation: e => e is OperationCanceledException, retryLoneImage: true);
        Assert.Equal(1, calls);
        Assert.Equal([1, 1, 1], failures);
    }
}
