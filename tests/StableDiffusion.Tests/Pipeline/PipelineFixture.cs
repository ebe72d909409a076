using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The two fixture pipelines, loaded once for all parity tests (CPU provider).</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> _fp32 = new(() => StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));
    private readonly Lazy<StableDiffusionPipeline> _fp16io = new(() => StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));

    private readonly Lazy<StableDiffusionPipeline> _fp16ioFixed = new(() => StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io,
        new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = true }));

    /// <summary>The float32 fixture with the CPU defaults.</summary>
    public StableDiffusionPipeline Fp32 => _fp32.Value;

    /// <summary>The float16-IO fixture with the CPU defaults (the dynamic-shape UNet session).</summary>
    public StableDiffusionPipeline Fp16Io => _fp16io.Value;

    /// <summary>The float16-IO fixture on fixed-shape UNet sessions with IOBinding (the CUDA defaults, run on the CPU).</summary>
    public StableDiffusionPipeline Fp16IoFixedShapes => _fp16ioFixed.Value;

    public void Dispose()
    {
        if (_fp32.IsValueCreated) _fp32.Value.Dispose();
        if (_fp16io.IsValueCreated) _fp16io.Value.Dispose();
        if (_fp16ioFixed.IsValueCreated) _fp16ioFixed.Value.Dispose();
    }
}
