using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// The CPU memory limit: ONNX Runtime allows one configured (shared) CPU arena per process, so every test that sets one
/// is here and uses the same configuration.
/// </summary>
public sealed class PipelineMemoryLimitTests
{
    private static readonly MemoryOptions Limited = new() { MemoryLimit = 1L << 30, ArenaStrategy = ArenaStrategy.SameAsRequested };

    [Fact]
    public void AMemoryLimit_StopsTheUnslicedUNetAt512_WhileTheSlicedOneFits()
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Memory = Limited });
        Assert.Equal("limit 1 GiB, arena SameAsRequested", pipeline.Memory.ToString());
        var settings = new GenerationSettings { Steps = 1, Width = 512, Height = 512 };
        ImageRequest[] one = [new("a photo of a cat", null, 0, 0)];

        // Unsliced, the full-resolution self-attention scores of a guided batch are 2 × 8 × 4096² floats (1 GiB) each.
        // Where the machine has less free memory than that run needs unlimited (about 12 GB, measured), the memory
        // pre-flight refuses it before the arena limit is reached.
        var e = Assert.ThrowsAny<Exception>(() => pipeline.Generate(one, settings));
        if (e is not InsufficientMemoryForBatchException)
        {
            Assert.IsType<InvalidOperationException>(e);
            Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
            Assert.Contains("allocate", e.InnerException!.Message, StringComparison.OrdinalIgnoreCase);
        }

        pipeline.EnableAttentionSlicing(AttentionSliceSize.Max);
        var result = Assert.Single(pipeline.Generate(one, settings));
        Assert.Equal(512 * 512 * 3, result.Pixels.Length);
    }

    [Fact]
    public void ASecondCpuArenaConfiguration_IsRefusedWithAnExplanation()
    {
        using var first = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Memory = Limited });
        var other = new MemoryOptions { MemoryLimit = 2L << 30 };
        var e = Assert.Throws<ArgumentException>(() =>
            StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Memory = other }));
        Assert.Contains("one per process", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryOptions { MemoryLimit = 1000 }.Validate());
    }
}
