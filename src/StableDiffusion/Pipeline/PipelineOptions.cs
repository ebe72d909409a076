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

    /// <summary>Memory controls: the provider's arena limit and growth, and low-memory mode.</summary>
    public MemoryOptions Memory { get; init; } = MemoryOptions.Default;
}
