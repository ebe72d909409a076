using StableDiffusion.Graph;
using StableDiffusion.Lora;
using StableDiffusion.TextualInversion;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>
/// A job's model, loaded as its file says: provider, device, precision, scheduler, VAE, attention and VAE slicing.
/// </summary>
public sealed class PipelineRenderEngine : IRenderEngine
{
    private readonly List<string> _notes = [];

    private PipelineRenderEngine(StableDiffusionPipeline pipeline) => Pipeline = pipeline;

    public StableDiffusionPipeline Pipeline { get; }
    public IReadOnlyList<string> Notes => _notes;

    /// <exception cref="ModelLoadException">The model or VAE cannot be loaded, or its precision is not the job's.</exception>
    public static PipelineRenderEngine Load(RenderJob job)
    {
        var pipeline = StableDiffusionPipeline.Load(job.ModelPath, new PipelineOptions
        {
            ExecutionProvider = job.Provider,
            DeviceId = job.DeviceId,
            Scheduler = job.Scheduler,
            Precision = job.Precision, // the pipeline refuses a model of the other precision before rendering anything
        });
        try
        {
            if (job.VaePath is not null) pipeline.ReplaceVae(job.VaePath);
            var engine = new PipelineRenderEngine(pipeline);
            engine._notes.AddRange(pipeline.Model.Warnings);
            if (pipeline.ProviderFallbackReason is { } reason) engine._notes.Add($"CUDA is not available, running on the CPU: {reason}");
            if (job.AttentionSlicing is { } slicing)
            {
                AttentionSlicingResult result;
                try
                {
                    result = pipeline.EnableAttentionSlicing(AttentionSliceSize.Parse(slicing));
                }
                catch (ArgumentOutOfRangeException e)
                {
                    throw new ArgumentException($"AttentionSlicing {slicing} does not fit the model '{job.ModelName}': {e.Message} Use Auto or Max.", e);
                }
                // Slicing changes peak memory, not the images; a graph it cannot slice is worth a line in the log.
                if (result.Outcome is not (AttentionSlicingOutcome.Sliced or AttentionSlicingOutcome.NothingToSlice))
                    engine._notes.Add($"AttentionSlicing '{slicing}': {result.Describe()}");
            }
            pipeline.VaeSlicing = job.VaeSlicing;
            ApplyAdapters(pipeline, job);
            return engine;
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The job's LoRA folders, embeddings and LoRAs, before the first image: the checks that need the model (keys that
    /// map to nothing, a shape mismatch, an embedding of another width or a token already in the vocabulary) fail here.
    /// </summary>
    /// <exception cref="ModelLoadException">A LoRA or embedding does not fit the model.</exception>
    private static void ApplyAdapters(StableDiffusionPipeline pipeline, RenderJob job)
    {
        try
        {
            if (job.LoraFolders.Count > 0) pipeline.LoraLibrary = new LoraLibrary(job.LoraFolders);
            if (job.Embeddings.Count > 0) pipeline.AddEmbeddings(job.Embeddings.Select(e => (e.Path, e.Token)).ToList());
            if (job.Loras.Count > 0) pipeline.SetLoras(job.Loras.Select(l => l.Entry).ToList());
        }
        catch (Exception e) when (e is LoraMappingException or LoraFormatException or TextualInversionException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, job.Source,
                $"The job's LoRAs or embeddings do not fit the model '{job.ModelName}': {e.Message}", e);
        }
    }

    public IReadOnlyList<GenerationResult> Render(IReadOnlyList<ImageRequest> batch, GenerationSettings settings, GenerationObserver? observer, CancellationToken cancellation) =>
        Pipeline.Generate(batch, settings, observer, cancellation);

    public void Dispose() => Pipeline.Dispose();
}
