using StableDiffusion.Models;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>A validated job: how to load the model, where the images go, and every image it renders.</summary>
public sealed class RenderJob
{
    /// <summary>The job file.</summary>
    public required string Source { get; init; }

    /// <summary>The job file's name without extension (for messages, the lock and the log).</summary>
    public string Name => Path.GetFileNameWithoutExtension(Source);

    public required string ModelPath { get; init; }
    public required string ModelName { get; init; }
    public string? VaePath { get; init; }
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Auto;
    public int DeviceId { get; init; }
    public ModelPrecision Precision { get; init; }

    /// <summary>"auto", "max", a number of heads per slice, or null (off).</summary>
    public string? AttentionSlicing { get; init; }

    /// <summary>Decode the images of a batch one at a time.</summary>
    public bool VaeSlicing { get; init; }

    /// <summary>The pipeline's scheduler (the model's own when the job names none).</summary>
    public required SchedulerChoice Scheduler { get; init; }

    public required string OutputDirectory { get; init; }
    public required string NameTemplate { get; init; }
    public int BatchSize { get; init; } = 1;

    /// <summary>The LoRAs fused into the job's pipeline (Loras), in order.</summary>
    public IReadOnlyList<JobLora> Loras { get; init; } = [];

    /// <summary>The folders A1111 &lt;lora:name&gt; tags are looked up in (LoraPath).</summary>
    public IReadOnlyList<string> LoraFolders { get; init; } = [];

    /// <summary>The textual-inversion files the job's pipeline loads (EmbeddingPath, folders expanded).</summary>
    public IReadOnlyList<JobEmbedding> Embeddings { get; init; } = [];

    public required IReadOnlyList<RenderItem> Items { get; init; }

    /// <summary>The JSON-lines log beside the outputs.</summary>
    public string LogPath => Path.Combine(OutputDirectory, RenderJobRunner.LogFileName);

    /// <summary>The lock file of the output directory.</summary>
    public string LockPath => Path.Combine(OutputDirectory, JobLock.FileName);
}
