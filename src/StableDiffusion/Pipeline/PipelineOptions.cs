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
    /// memory and kernels for that shape. False runs the load-time dynamic-shape session. Null (the default): chosen
    /// per provider by measurement — the CPU provider runs the dynamic session (at full size a fixed-shape session is
    /// no faster per step but costs its own creation, ~20 s, and a second copy of the weights, +5.5 GB for SD 1.5;
    /// bench/results/full-size-cpu.md), CUDA runs fixed shapes (IOBinding, CUDA graphs).
    /// </summary>
    public bool? UNetFixedShapes { get; init; }

    /// <summary>
    /// Bind the UNet's inputs and outputs once per loop, in buffers allocated for its shape, and reuse them every step
    /// (fixed-shape sessions and the dynamic-shape session alike). False: plain runs with new tensors every step. Null
    /// (the default): on.
    /// </summary>
    public bool? UNetIOBinding { get; init; }

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

    /// <summary>Threads of each session's intra-op pool (null: ONNX Runtime's default, one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>How generations that name no prompt syntax read their prompts (New-SdPipeline -PromptSyntax); default Plain.</summary>
    public PromptSyntax PromptSyntax { get; init; } = PromptSyntax.Plain;

    /// <summary>Whether idle intra-op threads spin waiting for work (null: ONNX Runtime's default, on).</summary>
    public bool? ThreadSpinning { get; init; }

    /// <summary>Memory controls: the provider's arena limit and growth, and low-memory mode.</summary>
    public MemoryOptions Memory { get; init; } = MemoryOptions.Default;

    /// <summary>
    /// These options with every per-provider default decided for the provider the sessions really use (CUDA graphs
    /// asked for imply fixed shapes).
    /// </summary>
    public PipelineOptions ForProvider(ExecutionProvider effective) =>
        this with { UNetFixedShapes = UNetFixedShapes ?? (CudaGraph || effective != ExecutionProvider.Cpu), UNetIOBinding = UNetIOBinding ?? true };

    /// <summary>Whether the UNet runs on fixed-shape sessions (options decided by <see cref="ForProvider"/>).</summary>
    internal bool FixedShapes => UNetFixedShapes ?? throw new InvalidOperationException("The options were not decided for a provider.");

    /// <summary>Whether the fixed-shape UNet binds its inputs and outputs (options decided by <see cref="ForProvider"/>).</summary>
    internal bool IOBinding => UNetIOBinding ?? throw new InvalidOperationException("The options were not decided for a provider.");
}
