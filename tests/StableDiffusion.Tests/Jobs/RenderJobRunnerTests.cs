using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Jobs;
using StableDiffusion.Models;

namespace StableDiffusion.Tests.Jobs;

/// <summary>
/// The runner with a model-free engine: skip what verifies, render the rest, retry once, record failures, batch,
/// cancel, clean up after crashes, log, and lock. (The Pester tests run the same on the real model, with a kill -9.)
/// </summary>
public sealed class RenderJobRunnerTests : IDisposable
{
    private readonly JobScratch _scratch = new();
    private readonly List<FakeEngine> _engines = [];

    public void Dispose() => _scratch.Dispose();

    private RenderJob Job(string prompts = """["a fox", "a cat", "an owl"]""", string extra = "") => _scratch.Validate($$"""
        { "Model": {{JobScratch.Model}}, "Prompts": {{prompts}}, "Defaults": { "Seeds": "1-2", "Width": 16, "Height": 16 }, "OutputDirectory": "out" {{extra}} }
        """);

    private RenderJobRunner Runner(RenderJob job, Action<FakeEngine>? setup = null) => new(job, j =>
    {
        var engine = new FakeEngine(j);
        setup?.Invoke(engine);
        _engines.Add(engine);
        return engine;
    });

    private sealed class Recorder : RenderJobObserver
    {
        public List<RenderJobEvent> Events { get; } = [];
        public List<int> Batches { get; } = [];
        public override void OnEvent(RenderJobEvent e) => Events.Add(e);
        public override void OnBatch(IReadOnlyList<RenderItem> batch, int done, int total) => Batches.Add(batch.Count);
        public IEnumerable<string> Kinds => Events.Select(e => e.Kind);
    }

    private static List<JsonElement> Log(RenderJob job) =>
        File.ReadAllLines(job.LogPath).Where(l => l.StartsWith('{') && l.EndsWith('}')).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void RendersEverythingOnceAndARerunLoadsNothing()
    {
        var job = Job();
        var recorder = new Recorder();
        var summary = Runner(job).Run(recorder);
        Assert.Equal((6, 0, 0, 6), (summary.Rendered, summary.Skipped, summary.Failed, summary.Total));
        Assert.True(summary.Succeeded);
        Assert.All(job.Items, i => Assert.Equal(OutputState.Verified, OutputVerifier.Check(i).State));
        Assert.Equal(["start", "load", "warning", "render", "render", "render", "render", "render", "render", "end"], recorder.Kinds);
        Assert.Equal("a note from the engine", recorder.Events[2].Message);
        Assert.Equal("render 6/6 0005-2.png seed 2 (0.0 s)", recorder.Events[8].Message);
        Assert.True(_engines[0].Disposed);
        Assert.False(File.Exists(job.LockPath));

        recorder = new Recorder();
        summary = Runner(job).Run(recorder);
        Assert.Equal((0, 6, 0), (summary.Rendered, summary.Skipped, summary.Failed));
        Assert.Single(_engines); // nothing to render: the model is not loaded
        Assert.Equal(["start", "end"], recorder.Kinds);
        Assert.Equal(0, summary.ImagesPerMinute);

        var log = Log(job);
        Assert.Equal(12, log.Count);
        var render = log.First(e => e.GetProperty("event").GetString() == "render");
        Assert.Equal(job.Items[0].Identity, render.GetProperty("id").GetString());
        Assert.Equal("a fox", render.GetProperty("prompt").GetString());
        Assert.Equal("completed", log[^1].GetProperty("status").GetString());
    }

    [Fact]
    public void AFailingImageIsRetriedOnceThenRecordedAndTheJobGoesOn()
    {
        var job = Job();
        var recorder = new Recorder();
        var summary = Runner(job, e => { e.AlwaysFails.Add("a cat"); e.FailsOnce.Add("a fox"); }).Run(recorder);
        Assert.Equal((4, 2), (summary.Rendered, summary.Failed));
        Assert.False(summary.Succeeded);
        Assert.Equal([2, 3], summary.Failures.Select(f => f.Index));
        Assert.All(summary.Failures, f => Assert.Equal(2, f.Attempts));
        Assert.Equal("'a cat' cannot be drawn", summary.Failures[0].Error);
        Assert.Equal(
            ["start", "load", "warning", "retry", "render", "render", "retry", "fail", "retry", "fail", "render", "render", "end"],
            recorder.Kinds);
        Assert.Equal(2, recorder.Events[4].Attempt); // the fox's first image made it on its second attempt
        Assert.False(File.Exists(job.Items[2].Path));
        Assert.True(File.Exists(job.Items[5].Path));
        Assert.Equal("completed with failures", Log(job)[^1].GetProperty("status").GetString());
    }

    [Fact]
    public void BatchesHoldConsecutiveImagesWithTheSameSettingsAndAFailedBatchIsRetriedImageByImage()
    {
        var job = Job("""["a", "b", { "Prompt": "c", "Steps": 3 }]""", """, "BatchSize": 4""");
        var recorder = new Recorder();
        Runner(job).Run(recorder);
        Assert.Equal([4, 2], recorder.Batches);
        Assert.Equal([4, 2], _engines[0].Calls.Select(c => c.Batch.Count));

        var again = Job("""["a", "b", { "Prompt": "c", "Steps": 3 }]""", """, "BatchSize": 4, "NameTemplate": "x-{index}" """);
        var summary = Runner(again, e => e.AlwaysFails.Add("b")).Run();
        Assert.Equal((4, 2), (summary.Rendered, summary.Failed));
        // The batch of four failed; its images were tried alone (b twice each: once alone, once more).
        Assert.Equal([4, 1, 1, 1, 1, 2], _engines[1].Calls.Select(c => c.Batch.Count));
    }

    [Fact]
    public void CancellingKeepsTheImagesDoneReleasesTheLockAndARerunRendersTheRest()
    {
        var job = Job();
        using var cts = new CancellationTokenSource();
        var recorder = new Recorder();
        Assert.ThrowsAny<OperationCanceledException>(() => Runner(job, e => e.BeforeRender = call => { if (call == 2) cts.Cancel(); }).Run(recorder, cancellation: cts.Token));
        Assert.Equal(2, job.Items.Count(i => File.Exists(i.Path)));
        Assert.False(File.Exists(job.LockPath));
        Assert.Equal("end", recorder.Events[^1].Kind);
        Assert.Equal("cancelled", Log(job)[^1].GetProperty("status").GetString());

        var summary = Runner(job).Run();
        Assert.Equal((4, 2), (summary.Rendered, summary.Skipped));
    }

    [Fact]
    public void LeftoversOfACrashAreCleanedAndACutLogLineIsClosed()
    {
        var job = Job();
        Directory.CreateDirectory(job.OutputDirectory);
        string leftover = Path.Combine(job.OutputDirectory, $".{job.Items[0].FileName}.{Guid.NewGuid():N}.tmp");
        string unrelated = Path.Combine(job.OutputDirectory, ".notes.tmp");
        File.WriteAllText(leftover, "half a png");
        File.WriteAllText(unrelated, "mine");
        File.WriteAllText(job.LogPath, "{\"time\":\"2024-01-01T00:00:00Z\",\"event\":\"start\"}\n{\"time\":\"2024-01-01T00:0");

        var recorder = new Recorder();
        Runner(job).Run(recorder);
        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(unrelated));
        Assert.Contains(recorder.Events, e => e.Kind == "cleanup" && e.Message.Contains(Path.GetFileName(leftover)));
        var lines = File.ReadAllLines(job.LogPath);
        Assert.Equal("{\"time\":\"2024-01-01T00:0", lines[1]);
        Assert.All(lines.Skip(2), l => JsonDocument.Parse(l));
    }

    [Fact]
    public void ALockedDirectoryIsRefusedBeforeAnythingLoads()
    {
        var job = Job();
        Directory.CreateDirectory(job.OutputDirectory);
        using var other = JobLock.Acquire(job.OutputDirectory, "other.psd1");
        var e = Assert.Throws<JobLockedException>(() => Runner(job).Run());
        Assert.Contains("job 'other.psd1'", e.Message);
        Assert.Empty(_engines);
        Assert.Empty(Directory.GetFiles(job.OutputDirectory, "*.png"));
    }

    [Fact]
    public void ChangedSettingsReplaceTheImagesTheyConcern()
    {
        Runner(Job()).Run();
        var changed = Job("""["a fox", { "Prompt": "a cat", "Steps": 9 }, "an owl"]""");
        var recorder = new Recorder();
        var summary = Runner(changed).Run(recorder);
        Assert.Equal((2, 2, 4), (summary.Rendered, summary.Replaced, summary.Skipped));
        Assert.All(recorder.Events.Where(e => e.Kind == "render"), e => Assert.Contains("replacing a file that it was rendered with other parameters", e.Message));
        Assert.All(changed.Items, i => Assert.Equal(OutputState.Verified, OutputVerifier.Check(i).State));
    }

    [Fact]
    public void ImagesLeftOutOnRequestAreCountedAndAForeignFileIsReportedNotTouched()
    {
        var job = Job();
        Directory.CreateDirectory(job.OutputDirectory);
        using (var mine = new Image<Rgb24>(16, 16))
            PngFile.Save(mine, job.Items[5].Path, "my own picture");
        byte[] before = File.ReadAllBytes(job.Items[5].Path);

        var summary = Runner(job).Run(include: i => i.Seed == 1);
        Assert.Equal(3, summary.Rendered);
        Assert.Equal(2, summary.NotSelected);
        var failure = Assert.Single(summary.Failures);
        Assert.Equal(5, failure.Index);
        Assert.Equal(0, failure.Attempts);
        Assert.Contains("was not written by a render job", failure.Error);
        Assert.Equal(before, File.ReadAllBytes(job.Items[5].Path));
    }

    [Fact]
    public void TheRealPipelineRecordsExactlyWhatTheJobPredicts()
    {
        // Scheduler alias and options, η, guidance rescale, VAE and precision: a rerun must verify every image, or a
        // nightly job would render everything again every night.
        var job = _scratch.Validate($$"""
            { "Model": {{JobScratch.Model}}, "Provider": "Cpu", "Precision": "Float32", "Vae": {{JobScratch.Model}},
              "Scheduler": { "Name": "DPM++ 2M Karras", "timestep_spacing": "trailing" },
              "Prompts": [ "a photo of a cat", { "Prompt": "a dog", "Scheduler": "Euler a", "Eta": 0.5, "GuidanceRescale": 0.7 } ],
              "Defaults": { "Seeds": 3, "Steps": 2, "Width": 64, "Height": 64, "NegativePrompt": "blurry" }, "OutputDirectory": "out" }
            """);
        var recorder = new Recorder();
        var summary = new RenderJobRunner(job).Run(recorder);
        Assert.Equal(2, summary.Rendered);
        Assert.DoesNotContain(recorder.Events, e => e.Kind == "warning");
        Assert.All(new RenderJobRunner(job).Plan().Entries, e => Assert.Equal(OutputState.Verified, e.Check.State));
        var recorded = GenerationParameters.Parse(PngFile.ReadText(job.Items[1].Path));
        Assert.Equal("EulerAncestralDiscreteScheduler", recorded.Scheduler);
        Assert.Equal(0.7f, recorded.GuidanceRescale);
    }

    [Fact]
    public void AttentionAndVaeSlicingApplyToTheLoadedPipelineAndKeepTheImagesIdentity()
    {
        string Job(string slicing) => $$"""
            { "Model": {{JobScratch.Model}}, "Provider": "Cpu", "AttentionSlicing": {{slicing}}, "VaeSlicing": true, "BatchSize": 2,
              "Prompts": "a photo of a cat", "Defaults": { "Seeds": "1-2", "Steps": 2, "Width": 64, "Height": 64 }, "OutputDirectory": "out" }
            """;
        var job = _scratch.Validate(Job("\"Max\""));
        PipelineRenderEngine? engine = null;
        var recorder = new Recorder();
        var summary = new RenderJobRunner(job, j => engine = PipelineRenderEngine.Load(j)).Run(recorder);
        Assert.Equal(2, summary.Rendered);
        Assert.Equal(StableDiffusion.Graph.AttentionSlicingOutcome.Sliced, engine!.Pipeline.AttentionSlicing!.Outcome);
        Assert.True(engine.Pipeline.VaeSlicing);
        Assert.DoesNotContain(recorder.Events, e => e.Kind == "warning");
        // Slicing is a memory setting: the same job without it finds its images done.
        Assert.All(new RenderJobRunner(_scratch.Validate(Job("\"Off\""))).Plan().Entries, e => Assert.Equal(OutputState.Verified, e.Check.State));

        var tooMany = _scratch.Validate(Job("64").Replace("\"out\"", "\"out2\""));
        var e = Assert.Throws<ArgumentException>(() => new RenderJobRunner(tooMany).Run());
        Assert.StartsWith("AttentionSlicing 64 does not fit the model 'tiny-sd'", e.Message);
    }

    [Fact]
    public void APrecisionTheModelDoesNotHaveStopsTheRunBeforeAnyImage()
    {
        var job = _scratch.Validate($$"""
            { "Model": {{JobScratch.Model}}, "Provider": "Cpu", "Precision": "Float16", "Prompts": "p", "Defaults": { "Seeds": 1, "Steps": 1, "Width": 64, "Height": 64 }, "OutputDirectory": "out" }
            """);
        var e = Assert.Throws<ModelLoadException>(() => new RenderJobRunner(job).Run());
        Assert.Contains("asks for Float16 but the model 'tiny-sd' runs in float32", e.Message);
        Assert.Empty(Directory.GetFiles(job.OutputDirectory, "*.png"));
        Assert.False(File.Exists(job.LockPath));
        Assert.Equal("error", Log(job)[^1].GetProperty("status").GetString());
    }
}
