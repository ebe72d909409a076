using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>
/// A job's model, loaded as its file says (provider, device, scheduler, VAE, attention and VAE slicing), checked against
/// its Precision.
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
        });
        try
        {
            if (job.VaePath is not null) pipeline.ReplaceVae(job.VaePath);
            string? wanted = job.Precision switch { JobPrecision.Float16 => "float16", JobPrecision.Float32 => "float32", _ => null };
            if (wanted is not null && pipeline.Precision != wanted)
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, job.ModelPath,
                    $"The job asks for {job.Precision} but the model '{job.ModelName}' runs in {pipeline.Precision}. " +
                    $"Use a {wanted} export of the model, or set Precision = 'Auto' (or '{(pipeline.Precision == "float16" ? "Float16" : "Float32")}').");
            var engine = new PipelineRenderEngine(pipeline);
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
            return engine;
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    public IReadOnlyList<GenerationResult> Render(IReadOnlyList<ImageRequest> batch, GenerationSettings settings, GenerationObserver? observer, CancellationToken cancellation) =>
        Pipeline.Generate(batch, settings, observer, cancellation);

    public void Dispose() => Pipeline.Dispose();
}
