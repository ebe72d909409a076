using StableDiffusion.Graph;
using StableDiffusion.Jobs;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Jobs;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// Disposal: a run in flight is cancelled and waited for before the sessions are freed (freeing them under a running
/// session crashed the process), every operation afterwards throws <see cref="PipelineDisposedException"/>, and a failed
/// attention-slicing rebuild leaves the old UNet working.
/// </summary>
public sealed class PipelineLifecycleTests
{
    private static readonly ImageRequest[] One = [new("a photo of a cat", null, 0, 0)];
    private static readonly GenerationSettings Small = new() { Steps = 2, Width = 64, Height = 64 };
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60); // 2 shared CPU cores: generous, only a hang reaches it

    private static StableDiffusionPipeline Load(string? path = null) =>
        StableDiffusionPipeline.Load(path ?? Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });

    /// <summary>
    /// On its load-time session only: a disposed UNet then cannot run (fixed-shape sessions would be created again from
    /// the graph and hide a UNet released by a failed rebuild).
    /// </summary>
    private static StableDiffusionPipeline LoadOneSession(string path) =>
        StableDiffusionPipeline.Load(path, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = false, UNetIOBinding = false });

    /// <summary>Calls <paramref name="onStep"/> at every denoising step, on the generating thread.</summary>
    private sealed class StepHook(Action onStep) : GenerationObserver
    {
        public override void OnStep(StepInfo step) => onStep();
    }

    [Fact]
    public void DisposeFromAnotherThread_DuringAGeneration_CancelsIt_WaitsForIt_ThenRefuses()
    {
        var pipeline = Load();
        using var disposing = new ManualResetEventSlim();
        bool disposeReturned = false, disposedWhileInside = false, returnedWhileInside = true, releasedWhileInside = true;
        int steps = 0;
        var observer = new StepHook(() =>
        {
            if (Interlocked.Increment(ref steps) != 1) return;
            // Dispose is called while this step is inside the run: it must not return (nor free anything) before the run leaves.
            Assert.True(disposing.Wait(Patience));
            SpinWait.SpinUntil(() => pipeline.IsDisposed, Patience);
            disposedWhileInside = pipeline.IsDisposed;
            Thread.Sleep(300);
            returnedWhileInside = Volatile.Read(ref disposeReturned);
            releasedWhileInside = pipeline.SessionsReleased;
        });
        var run = Task.Run(() => pipeline.Generate(One, Small with { Steps = 20 }, observer));
        SpinWait.SpinUntil(() => Volatile.Read(ref steps) >= 1, Patience);
        disposing.Set();
        pipeline.Dispose();
        Volatile.Write(ref disposeReturned, true);
        Assert.True(pipeline.SessionsReleased);

        var e = Assert.Throws<AggregateException>(() => run.Wait(Patience));
        var disposed = Assert.IsType<PipelineDisposedException>(e.InnerException);
        Assert.True(disposed.DuringRun);
        Assert.Contains("New-SdPipeline", disposed.Message);
        Assert.True(disposedWhileInside, "the pipeline was not marked disposed while the run was inside");
        Assert.False(returnedWhileInside, "Dispose returned while the run was still inside");
        Assert.False(releasedWhileInside, "the sessions were freed while the run was still inside");
        Assert.Equal(1, steps); // the next step's cancellation check stopped it, not the end of the loop
        Assert.Throws<PipelineDisposedException>(() => pipeline.Generate(One, Small));
    }

    [Fact]
    public void DisposeWhileOneRunGenerates_AndAnotherWaitsForItsTurn_StopsBoth()
    {
        var pipeline = Load();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = Task.Run(() => pipeline.Generate(One, Small with { Steps = 20 }, new StepHook(() =>
        {
            started.Set();
            release.Wait(Patience);
        })));
        Assert.True(started.Wait(Patience));
        var second = Task.Run(() => pipeline.Generate(One, Small)); // blocks on the pipeline's lock behind the first
        Thread.Sleep(200);
        var dispose = Task.Run(pipeline.Dispose);
        SpinWait.SpinUntil(() => pipeline.IsDisposed, Patience);
        release.Set();

        Assert.True(dispose.Wait(Patience));
        foreach (var run in new[] { first, second })
        {
            var e = Assert.Throws<AggregateException>(() => run.Wait(Patience));
            Assert.IsType<PipelineDisposedException>(e.InnerException);
        }
    }

    [Fact]
    public void Dispose_Twice_AndFromSeveralThreadsAtOnce_IsHarmless()
    {
        var pipeline = Load();
        pipeline.Dispose();
        pipeline.Dispose();
        Assert.True(pipeline.IsDisposed);

        var other = Load();
        using var started = new ManualResetEventSlim();
        // 900 steps and threads of their own for the disposers: a busy thread pool once let 50 steps finish before any
        // disposer started.
        var run = Task.Run(() => other.Generate(One, Small with { Steps = 900 }, new StepHook(() => started.Set())));
        Assert.True(started.Wait(Patience));
        var disposers = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            other.Dispose();
            return other.SessionsReleased; // each call returns only once the sessions are freed
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(Task.WaitAll(disposers, Patience));
        Assert.All(disposers, d => Assert.True(d.Result));
        var e = Assert.Throws<AggregateException>(() => run.Wait(Patience));
        Assert.IsType<PipelineDisposedException>(e.InnerException);
    }

    [Fact]
    public void DisposeFromInsideTheRun_DoesNotWaitForItself_AndFreesWhenTheRunLeaves()
    {
        var pipeline = Load();
        bool releasedInside = true;
        var observer = new StepHook(() =>
        {
            pipeline.Dispose(); // an observer (or a PowerShell callback) disposing its own pipeline
            releasedInside = pipeline.SessionsReleased;
        });
        var done = Task.Run(() => Assert.Throws<PipelineDisposedException>(() => pipeline.Generate(One, Small with { Steps = 5 }, observer)));
        Assert.True(done.Wait(Patience), "Dispose from inside the run deadlocked");
        Assert.True(done.Result.DuringRun);
        Assert.False(releasedInside, "the sessions were freed under the run that disposed them");
        Assert.True(pipeline.SessionsReleased, "the run left without freeing the sessions");
        Assert.Throws<PipelineDisposedException>(() => pipeline.UNet);
    }

    [Fact]
    public void CallerCancellation_StillComesAsOperationCanceled_AndThePipelineKeepsWorking()
    {
        using var pipeline = Load();
        using var stop = new CancellationTokenSource();
        var observer = new StepHook(() => stop.Cancel()); // Ctrl+C during the first step
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(One, Small with { Steps = 20 }, observer, stop.Token));
        Assert.False(pipeline.IsDisposed);
        Assert.Single(pipeline.Generate(One, Small));
    }

    [Fact]
    public void AfterDispose_EveryOperationAndSessionProperty_ThrowsPipelineDisposed()
    {
        var pipeline = Load();
        pipeline.Dispose();
        var operations = new (string Name, Action Call)[]
        {
            ("Generate", () => pipeline.Generate(One, Small)),
            ("GenerateLatents", () => pipeline.GenerateLatents(One, Small)),
            ("EnableAttentionSlicing", () => pipeline.EnableAttentionSlicing(AttentionSliceSize.Max)),
            ("DisableAttentionSlicing", pipeline.DisableAttentionSlicing),
            ("ReplaceVae", () => pipeline.ReplaceVae(Fixtures.TinySd)),
            ("Scheduler", () => pipeline.Scheduler = new SchedulerChoice("EulerDiscreteScheduler")),
            ("VaeSlicing", () => pipeline.VaeSlicing = true),
            ("UNetBatchSize", () => pipeline.UNetBatchSize = 1),
            ("UNet", () => _ = pipeline.UNet),
            ("TextEncoder", () => _ = pipeline.TextEncoder),
            ("VaeDecoder", () => _ = pipeline.VaeDecoder),
            ("VaeEncoder", () => _ = pipeline.VaeEncoder),
            ("Precision", () => _ = pipeline.Precision),
        };
        foreach (var (name, call) in operations)
        {
            var e = Record.Exception(call);
            var disposed = Assert.IsType<PipelineDisposedException>(e);
            Assert.False(disposed.DuringRun, name);
            Assert.Equal("tiny-sd", disposed.Model);
        }
        // The model's description is plain data and stays readable (a disposed pipeline still shows its name).
        Assert.Equal("tiny-sd", pipeline.Model.Name);
    }

    [Fact]
    public void AFailedSlicingRebuild_LeavesTheOldUNetWorking()
    {
        var folder = CopyOfTinySd();
        try
        {
            using var pipeline = LoadOneSession(folder);
            var before = pipeline.Generate(One, Small)[0].Pixels;
            // The loaded session holds the weights; without the file a new UNet cannot be built.
            File.Delete(Path.Combine(folder, "unet", "weights.pb"));

            Assert.ThrowsAny<Exception>(() => pipeline.EnableAttentionSlicing(AttentionSliceSize.Max));
            Assert.Null(pipeline.AttentionSlicing);
            Compare.Close(before, pipeline.Generate(One, Small)[0].Pixels, 0, "the old UNet after the failed rebuild");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AFailedReturnToTheOriginalGraph_LeavesTheSlicedUNetWorking()
    {
        var folder = CopyOfTinySd();
        try
        {
            using var pipeline = LoadOneSession(folder);
            var sliced = pipeline.EnableAttentionSlicing(AttentionSliceSize.Max);
            var before = pipeline.Generate(One, Small)[0].Pixels;
            File.Delete(Path.Combine(folder, "unet", "model.onnx"));

            Assert.ThrowsAny<Exception>(pipeline.DisableAttentionSlicing);
            Assert.Same(sliced, pipeline.AttentionSlicing);
            Compare.Close(before, pipeline.Generate(One, Small)[0].Pixels, 0, "the sliced UNet after the failed rebuild");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARenderJob_FreesItsPipeline_WhenItEnds_AndWhenItIsCancelled(bool cancel)
    {
        using var scratch = new JobScratch();
        var job = scratch.Validate($$"""
            { "Model": {{JobScratch.Model}}, "Provider": "Cpu", "Prompts": "a photo of a cat",
              "Defaults": { "Seeds": "1-3", "Steps": 2, "Width": 64, "Height": 64 }, "OutputDirectory": "out" }
            """);
        PipelineRenderEngine? engine = null;
        using var stop = new CancellationTokenSource();
        var runner = new RenderJobRunner(job, j => engine = PipelineRenderEngine.Load(j));
        var observer = new BatchHook(() => { if (cancel) stop.Cancel(); });
        if (cancel) Assert.ThrowsAny<OperationCanceledException>(() => runner.Run(observer, cancellation: stop.Token));
        else Assert.Equal(3, runner.Run(observer).Rendered);
        Assert.True(engine!.Pipeline.IsDisposed);
        Assert.True(engine.Pipeline.SessionsReleased);
    }

    /// <summary>Calls <paramref name="onBatch"/> before each batch of a render job.</summary>
    private sealed class BatchHook(Action onBatch) : RenderJobObserver
    {
        public override void OnBatch(IReadOnlyList<RenderItem> batch, int done, int total) => onBatch();
    }

    /// <summary>The model files of tiny-sd in a fresh temporary folder (the fixture is read-only), to break on purpose.</summary>
    private static string CopyOfTinySd()
    {
        var target = Directory.CreateTempSubdirectory("lifecycle-").FullName;
        File.Copy(Path.Combine(Fixtures.TinySd, "model_index.json"), Path.Combine(target, "model_index.json"));
        foreach (var part in new[] { "scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder", "vae_encoder" })
        {
            Directory.CreateDirectory(Path.Combine(target, part));
            foreach (var file in Directory.GetFiles(Path.Combine(Fixtures.TinySd, part)))
                File.Copy(file, Path.Combine(target, part, Path.GetFileName(file)));
        }
        return target;
    }
}
