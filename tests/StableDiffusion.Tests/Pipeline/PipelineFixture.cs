using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>The two fixture pipelines, loaded once for all parity tests (CPU provider).</summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly Lazy<StableDiffusionPipeline> _fp32 = new(() => StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));
    private readonly Lazy<StableDiffusionPipeline> _fp16io = new(() => StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu }));

    public StableDiffusionPipeline Fp32 => _fp32.Value;
    public StableDiffusionPipeline Fp16Io => _fp16io.Value;

    public void Dispose()
    {
        if (_fp32.IsValueCreated) _fp32.Value.Dispose();
        if (_fp16io.IsValueCreated) _fp16io.Value.Dispose();
    }
}
