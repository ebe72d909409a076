using StableDiffusion.Models;

namespace StableDiffusion.Pipeline;

/// <summary>How to load a pipeline.</summary>
public sealed record PipelineOptions
{
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Auto;

    /// <summary>CUDA device ordinal.</summary>
    public int DeviceId { get; init; }

    /// <summary>Scheduler to start with (null: the model's own, from scheduler_config.json).</summary>
    public SchedulerChoice? Scheduler { get; init; }

    /// <summary>The precision required of the model (Auto: whatever the folder holds).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Auto;

    /// <summary>CUDA/TensorRT provider options.</summary>
    public GpuSettings Gpu { get; init; } = new();

    /// <summary>
    /// Run the UNet on fixed-shape sessions: one per batch and size, its free dimensions fixed, so ONNX Runtime plans
    /// memory and kernels for that shape. False runs the load-time dynamic-shape session.
    /// </summary>
    public bool UNetFixedShapes { get; init; } = true;

    /// <summary>Bind the fixed-shape UNet's inputs and outputs once and reuse them every step (needs fixed shapes).</summary>
    public bool UNetIOBinding { get; init; } = true;

    /// <summary>Let the fixed-shape UNet sessions plan a memory pattern (ONNX Runtime's enable_mem_pattern) for their shape.</summary>
    public bool UNetMemoryPattern { get; init; }

    /// <summary>
    /// Let the fixed-shape UNet sessions share one copy of the weights (CPU provider; CUDA sessions keep their own):
    /// the graph the load-time session optimized, whose weights are read once. Off by default: the shape sessions then
    /// compute exactly what the dynamic-shape session does, which differs from sessions optimized for their shape by
    /// up to ~1.3e-6 (float32 images) and by 2.6e-3 on one float16 parity case (over its 2e-3);
    /// bench/results/weight-sharing-cpu.md. MatMul weights are then held twice (raw and MLAS-packed) for any number of
    /// sessions, so it pays from two shape sessions (<see cref="UNetSessionCacheSize"/> ≥ 2). Needs free temporary
    /// disk space of the UNet's size while loading.
    /// </summary>
    public bool UNetSharedWeights { get; init; }

    /// <summary>Fixed-shape UNet sessions kept loaded at once (on CUDA, or without shared weights, each holds a copy of the weights).</summary>
    public int UNetSessionCacheSize { get; init; } = 1;

    /// <summary>Capture the UNet as a CUDA graph per shape and replay it every step (CUDA provider and IOBinding only).</summary>
    public bool CudaGraph { get; init; }

    /// <summary>Memory controls: the provider's arena limit and growth, and low-memory mode.</summary>
    public MemoryOptions Memory { get; init; } = MemoryOptions.Default;
}
