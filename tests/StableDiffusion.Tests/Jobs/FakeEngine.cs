using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Jobs;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>
/// Renders without a model: each image is a solid colour made from its seed, recorded with exactly the parameters the
/// job expects (as the real pipeline records them). Prompts can be made to fail, always or only the first time.
/// </summary>
public sealed class FakeEngine(RenderJob job) : IRenderEngine
{
    public List<(IReadOnlyList<ImageRequest> Batch, GenerationSettings Settings)> Calls { get; } = [];
    public HashSet<string> AlwaysFails { get; } = [];
    public HashSet<string> FailsOnce { get; } = [];
    public Action<int>? BeforeRender { get; set; }
    public bool Disposed { get; private set; }
    public IReadOnlyList<string> Notes { get; } = ["a note from the engine"];

    public IReadOnlyList<GenerationResult> Render(IReadOnlyList<ImageRequest> batch, GenerationSettings settings, GenerationObserver? observer, CancellationToken cancellation)
    {
        BeforeRender?.Invoke(Calls.Count);
        cancellation.ThrowIfCancellationRequested();
        Calls.Add((batch, settings));
        foreach (var r in batch)
        {
            if (AlwaysFails.Contains(r.Prompt)) throw new InvalidOperationException($"'{r.Prompt}' cannot be drawn");
            if (FailsOnce.Remove(r.Prompt)) throw new InvalidOperationException($"a passing hiccup on '{r.Prompt}'");
        }
        return batch.Select(r =>
        {
            var item = job.Items[r.Index];
            var color = new Rgb24((byte)(r.Seed * 37), (byte)(r.Seed * 11), (byte)r.Prompt.Length);
            var image = new Image<Rgb24>(item.Expected.Width, item.Expected.Height, color);
            return TestResults.Make(r, settings, image, item.Expected.Scheduler!, item.Expected.SchedulerOptions!, item.Expected.Model!,
                item.Expected.Vae, item.Expected.Precision ?? "float32", batch.Count);
        }).ToList();
    }

    public void Dispose() => Disposed = true;
}
