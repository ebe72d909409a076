using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>What a job renders with: the pipeline in practice, anything that turns requests into images in tests.</summary>
public interface IRenderEngine : IDisposable
{
    /// <summary>Lines for the log about how the engine was set up (e.g. a setting this build does not apply).</summary>
    IReadOnlyList<string> Notes { get; }

    /// <summary>Renders one batch (same settings), results in the order of <paramref name="batch"/>.</summary>
    IReadOnlyList<GenerationResult> Render(IReadOnlyList<ImageRequest> batch, GenerationSettings settings, GenerationObserver? observer, CancellationToken cancellation);
}
