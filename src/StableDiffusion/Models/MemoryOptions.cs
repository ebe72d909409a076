namespace StableDiffusion.Models;

/// <summary>How the execution provider's memory arena grows.</summary>
public enum ArenaStrategy
{
    /// <summary>ONNX Runtime's default: each extension doubles (fast, may reserve up to twice what is needed).</summary>
    NextPowerOfTwo,

    /// <summary>Each extension is exactly what was requested (a tighter peak, more extensions).</summary>
    SameAsRequested,

    /// <summary>
    /// No arena on the CPU: every tensor is allocated and freed on its own, so memory goes back to the system between
    /// steps. The CUDA provider always uses an arena; there it behaves as <see cref="SameAsRequested"/>.
    /// </summary>
    Disabled,
}

/// <summary>Memory controls of a pipeline (New-SdPipeline's memory parameters).</summary>
public sealed record MemoryOptions
{
    /// <summary>The default: ONNX Runtime's own behaviour, every session resident.</summary>
    public static MemoryOptions Default { get; } = new();

    /// <summary>
    /// Largest arena of the provider in bytes (null: unlimited): CUDA's <c>gpu_mem_limit</c>, or on the CPU the shared
    /// arena's <c>max_mem</c> (at most 4 GiB - 1, an ONNX Runtime limit). An allocation past it fails instead of growing.
    /// </summary>
    public long? MemoryLimit { get; init; }

    /// <summary>How the provider's arena grows.</summary>
    public ArenaStrategy ArenaStrategy { get; init; } = ArenaStrategy.NextPowerOfTwo;

    /// <summary>
    /// Release the text encoder and VAE decoder sessions after each use and create them again when needed, so only the
    /// UNet stays resident during denoising (slower: two session creations per generation).
    /// </summary>
    public bool LowMemory { get; init; }

    /// <summary>True when the provider's arena needs configuring (anything but the default).</summary>
    public bool ConfiguresArena => MemoryLimit is not null || ArenaStrategy != ArenaStrategy.NextPowerOfTwo;

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        if (MemoryLimit is { } limit && limit < 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(MemoryLimit), limit, "The memory limit must be at least 1 MiB (1048576 bytes).");
        if (!Enum.IsDefined(ArenaStrategy))
            throw new ArgumentOutOfRangeException(nameof(ArenaStrategy), ArenaStrategy, "Unknown arena strategy.");
    }

    /// <summary>A short description for the pipeline's display: "default", "limit 2 GiB, SameAsRequested, low memory"…</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (MemoryLimit is { } limit) parts.Add($"limit {FormatBytes(limit)}");
        if (ArenaStrategy != ArenaStrategy.NextPowerOfTwo) parts.Add($"arena {ArenaStrategy}");
        if (LowMemory) parts.Add("low memory");
        return parts.Count == 0 ? "default" : string.Join(", ", parts);
    }

    internal static string FormatBytes(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB"
        : $"{bytes} bytes";
}
