using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>Watches a job run (the cmdlet turns this into log lines and progress). Called on the thread running the job.</summary>
public abstract class RenderJobObserver
{
    /// <summary>Every event, as written to the log.</summary>
    public virtual void OnEvent(RenderJobEvent e) { }

    /// <summary>Before each batch: the images in it, how many of this run's images are finished, and how many there are.</summary>
    public virtual void OnBatch(IReadOnlyList<RenderItem> batch, int done, int total) { }

    /// <summary>Watches the denoising steps of each batch (null: none).</summary>
    public virtual GenerationObserver? Steps => null;
}
